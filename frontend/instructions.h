// Typed, validated instructions and stages: what lower.h makes of the AST. Words are still
// unexpanded here ($VARs resolve in the plan, where the ARG and ENV in scope are known).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "frontend/ast.h"
#include "frontend/mount_spec.h"

namespace imgbuild::frontend {

struct RunInstr {
  std::vector<std::string> cmd;  // exec form: argv; shell form: one string
  bool exec_form = false;
  std::vector<std::string> mounts;  // raw --mount values, parsed per step in the plan
  std::vector<MountSpec> mount_specs;  // parsed without expansion, for outline and checks
  std::string network = "default";  // default|none|host
  std::string security = "sandbox";  // sandbox|insecure
  std::vector<ast::Heredoc> heredocs;
};

struct CmdInstr {  // CMD and ENTRYPOINT
  std::vector<std::string> cmd;
  bool exec_form = false;
};

struct ShellInstr {
  std::vector<std::string> shell;
};

struct CopySource {
  std::string path;                     // a path or pattern in the source
  std::optional<ast::Heredoc> heredoc;  // set for `COPY <<EOF dest`
};

struct CopyInstr {  // COPY and ADD
  bool is_add = false;
  std::vector<CopySource> sources;
  std::string dest;
  bool exec_form = false;
  std::string from, chown, chmod, checksum;
  bool link = false, parents = false, keep_git_dir = false;
  std::optional<bool> unpack;
  std::vector<std::string> excludes;
};

struct KeyValuesInstr {  // ENV and LABEL
  std::vector<ast::KeyValue> pairs;
  bool legacy = false;
};

struct ArgDecl {
  std::string name;
  std::optional<std::string> default_value;  // unexpanded
};

struct ArgInstr {
  std::vector<ArgDecl> args;
};

struct WordsInstr {  // EXPOSE and VOLUME
  std::vector<std::string> words;
  bool exec_form = false;
};

struct ValueInstr {  // USER, WORKDIR, STOPSIGNAL, MAINTAINER
  std::string value;
};

struct HealthcheckInstr {
  bool none = false;
  std::vector<std::string> test;  // ["CMD", ...] or ["CMD-SHELL", cmd] or ["NONE"]
  std::optional<int64_t> interval_ns, timeout_ns, start_period_ns, start_interval_ns;
  std::optional<int> retries;
};

struct Instruction;

struct OnbuildInstr {
  std::string expression;                   // the trigger text, as stored in the image config
  std::shared_ptr<const Instruction> trigger;  // validated trigger
};

struct Instruction {
  std::string keyword;  // upper case
  Location location;
  int end_line = 0;
  std::string original;
  std::variant<RunInstr, CmdInstr, ShellInstr, CopyInstr, KeyValuesInstr, ArgInstr, WordsInstr,
               ValueInstr, HealthcheckInstr, OnbuildInstr>
      op;
};

struct Stage {
  int index = 0;
  std::string name;        // lower case; empty when unnamed
  std::string base;        // unexpanded image reference, stage name, or "scratch"
  std::string platform;    // unexpanded --platform, or empty
  Location location;
  int end_line = 0;
  std::string original;
  std::vector<std::string> comments;  // comment lines before FROM (descriptions)
  std::vector<Instruction> instructions;
};

struct MetaArg {
  ArgDecl decl;
  Location location;
  std::vector<std::string> comments;
};

struct Program {
  std::string file;
  Directives directives;
  std::vector<MetaArg> meta_args;  // ARGs before the first FROM
  std::vector<Stage> stages;
  std::vector<Warning> warnings;
};

}  // namespace imgbuild::frontend
