// Typed, expanded steps: what the plan hands the builder for each instruction, one struct per
// instruction family with every field BuildKit expands already expanded. No flag maps and no
// keyword strings past the frontend: the builder visits StepOp.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "frontend/ast.h"
#include "frontend/mount_spec.h"

namespace imgbuild::frontend {

// Instructions that only change the image config. Their values are PlannedStep::words.
enum class MetadataKind {
  kEnv, kLabel, kArg, kUser, kCmd, kEntrypoint, kShell, kExpose, kVolume, kStopSignal, kMaintainer,
  kOnbuild, kHealthcheck
};

struct MetadataStep {
  MetadataKind kind = MetadataKind::kEnv;
  bool exec_form = false;  // CMD and ENTRYPOINT: words are argv (else one shell command)
  // HEALTHCHECK: the test and its timings (nanoseconds; 0 when not given).
  int64_t interval_ns = 0, timeout_ns = 0, start_period_ns = 0, start_interval_ns = 0;
  int retries = 0;
  bool cmd_set = false;  // ENTRYPOINT: a CMD came earlier in the stage, so it is kept (BuildKit)
};

struct WorkdirStep {
  std::string path;  // as written, expanded; PlannedStep::workdir is where it leads
};

struct CopyStep {  // COPY and ADD
  bool add = false;
  std::vector<std::string> sources;  // expanded paths, patterns or URLs (not the heredocs), in order
  std::vector<std::pair<std::string, std::string>> heredocs;  // name, content (expanded unless quoted)
  std::string dest;                  // expanded, as written
  std::string from;                  // expanded --from; "" for the build context
  std::string chown, chmod, checksum;
  std::vector<std::string> excludes;
  bool link = false, parents = false, keep_git_dir = false;
  std::optional<bool> unpack;
};

enum class NetworkMode { kDefault, kNone, kHost };

struct RunStep {
  std::vector<std::string> cmd;  // exec form: argv; shell form: one string
  bool exec_form = false;
  std::vector<ast::Heredoc> heredocs;
  std::vector<MountSpec> mounts;  // expanded
  NetworkMode network = NetworkMode::kDefault;
  bool insecure = false;  // --security=insecure
};

using StepOp = std::variant<MetadataStep, WorkdirStep, CopyStep, RunStep>;

std::string NetworkModeName(NetworkMode m);  // "default", "none", "host"

}  // namespace imgbuild::frontend
