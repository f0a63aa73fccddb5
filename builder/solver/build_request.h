// What a build is asked to do (BuildRequest, from the command line) and what it gives back
// (BuiltImage); BuildError is what a step raises when the build must stop.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "builder/sandbox/run_mounts.h"
#include "builder/sandbox/run_step.h"
#include "cache/transfer.h"
#include "layers/descriptor.h"
#include "layers/image.h"
#include "layers/layer_writer.h"
#include "layers/error.h"

namespace imgbuild::builder {

class BuildError : public layers::Error {
 public:
  using layers::Error::Error;
};

// A step that failed, with where it is in the Buildfile: "FILE:LINE: KEYWORD: MESSAGE", then the
// detail (for RUN: the step's lines, the tail of its output, the log's path) on lines below.
class StepError : public BuildError {
 public:
  StepError(std::string file, int line, std::string keyword, std::string message, std::string detail = "")
      : BuildError(file + ":" + std::to_string(line) + ": " + keyword + ": " + message +
                   (detail.empty() ? "" : "\n" + detail)),
        file_(std::move(file)),
        line_(line),
        keyword_(std::move(keyword)),
        message_(std::move(message)) {}
  const std::string& file() const { return file_; }
  int line() const { return line_; }
  const std::string& keyword() const { return keyword_; }
  const std::string& message() const { return message_; }

 private:
  std::string file_;
  int line_;
  std::string keyword_, message_;
};

struct BuildRequest {
  std::string root;            // state directory
  std::string context_dir;
  std::string buildfile_path;  // for <Buildfile>.dockerignore; "-" for standard input
  std::vector<std::string> tags;
  std::map<std::string, std::string> labels;  // --label, added to the final image
  std::optional<int64_t> source_date_epoch;
  layers::Platform platform;
  // One platform of a multi-platform build: the image is neither tagged nor kept as <none> (the
  // index that names it is, by the caller).
  bool part_of_index = false;
  // --build-context NAME=DIR or NAME=oci-layout://PATH[:TAG]
  std::map<std::string, std::string> named_contexts;
  std::string buildfile_text;  // for the lines of a failing step
  std::string network = "default";  // --network: default (the host's), none or host
  RunSandboxOptions sandbox;        // --add-host, --shm-size, --ulimit
  std::map<std::string, std::string> annotations;  // --annotation: on the image's manifest
  bool allow_insecure = false;      // --allow security.insecure
  bool allow_network_host = false;  // --allow network.host (RUN --network=host; build --network=host grants it)
  std::map<std::string, SecretSource> secrets;  // --secret
  SshSources ssh;                               // --ssh
  int jobs = 0;  // stages built at once; 0: no limit (every stage whose inputs are ready)
  bool no_cache = false;                     // --no-cache: run every step (results are still recorded)
  std::set<std::string> no_cache_stages;     // --no-cache-filter: these stages (names or indexes) run
  bool explain_cache = false;                // --explain-cache: say why each miss missed
  std::vector<cache::CacheTransferSpec> cache_to, cache_from;  // --cache-to, --cache-from
  bool tls_verify = true;  // registries (pulls, pushes, registry cache)
  // How layers are compressed when they leave the store (exports, pushes, --cache-to).
  layers::LayerOptions export_compression{layers::Compression::kGzip, -1, std::nullopt};
  std::map<std::string, std::string> pull_errors;  // FROM references whose pull failed, and why
  // Set (by a signal handler) to stop the build before its next step; cleanup then runs as for
  // any failure.
  const std::atomic<bool>* interrupted = nullptr;
};

struct BuiltImage {
  int steps_run = 0;  // steps that missed the cache
  std::string build_ref;  // the build's id: its RUN logs are in ROOT/logs/<build_ref>
  layers::Descriptor manifest;
  layers::Descriptor config;
  std::vector<layers::Descriptor> layers;
  // part_of_index: per --cache-to, the records it would export (the caller exports every
  // platform's at once, so one cache holds them all).
  std::vector<std::vector<cache::CacheRecord>> cache_records;
};

}  // namespace imgbuild::builder
