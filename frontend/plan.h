// The build plan: Program + build options -> the stages a target needs, in build order, and a DAG
// of steps with their inputs. Resolves ARG scoping (global ARGs only in FROM unless re-declared,
// --build-arg overrides, the predefined platform and proxy ARGs), ENV over ARG, per-instruction
// expansion (`ENV a=x b=$a` uses the old a), stage references by name or index, and prunes what
// the target does not need. Throws ParseError for unknown stages, cycles and bad expansions.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "frontend/instructions.h"
#include "frontend/platform_spec.h"
#include "frontend/steps.h"

namespace imgbuild::frontend {


// What the plan needs to know of a base image: its configuration.
struct BaseImageInfo {
  std::vector<std::string> env;  // NAME=VALUE
  std::string workdir;
  std::string user;
  std::optional<std::vector<std::string>> shell;
  std::vector<std::string> on_build;  // ONBUILD triggers, run after the FROM that uses the image
};

struct PlanOptions {
  std::map<std::string, std::string> build_args;
  std::string target;  // stage name or index; empty for the last stage
  std::optional<PlatformSpec> target_platform;  // default: the build platform
  PlatformSpec build_platform = PlatformSpec::Host();
  // Looks a base image up (FROM IMAGE); std::nullopt when unknown. Without it, image bases start
  // with an empty environment and their ONBUILD triggers are not run.
  std::function<std::optional<BaseImageInfo>(const std::string& ref)> base_image;
  // Names given with --build-context: FROM NAME and COPY --from=NAME read them, in place of a
  // stage of the same name (BuildKit); scratch_contexts name the empty image (docker-image://scratch).
  std::set<std::string> named_contexts;
  std::set<std::string> scratch_contexts;
};

using StepId = int;

// An immutable NAME=VALUE list shared by the steps that see the same one.
using EnvList = std::shared_ptr<const std::vector<std::string>>;

struct BaseRef {
  enum Kind { kScratch, kImage, kStage, kContext } kind = kImage;
  std::string ref;  // expanded image reference (kImage) or context name (kContext)
  int stage = -1;   // kStage
};

// Something a step reads from outside the plan's steps.
struct ExternalInput {
  enum Kind { kBuildContext, kImage, kNamedContext } kind = kBuildContext;
  std::string name;  // image reference or context name
};

// The most ENV and ARG entries all RUN steps together may see (a ParseError beyond).
inline constexpr size_t kMaxSnapshotEntries = 5'000'000;

struct PlannedStep {
  StepId id = 0;
  int stage = 0;
  int instruction = 0;  // index in the stage's instructions
  std::string keyword;  // for people (progress, history); the builder dispatches on `op`
  Location location;
  // Expanded arguments where BuildKit expands them (COPY/ADD sources and destination, ENV and
  // LABEL as key=value, EXPOSE, VOLUME, USER, WORKDIR, STOPSIGNAL, ARG as name[=value]); as written
  // for RUN, CMD, ENTRYPOINT, SHELL, HEALTHCHECK and ONBUILD.
  std::vector<std::string> words;
  StepOp op;  // the step, typed and expanded: what the builder acts on
  // Set for RUN steps and a stage's last step only (null elsewhere: nothing else reads them).
  EnvList env;         // ENV in effect, NAME=VALUE, in definition order
  EnvList build_args;  // ARGs in scope and not shadowed by ENV (RUN sees these), then proxy ARGs
  std::string workdir = "/";                 // after this step
  std::string user;
  std::vector<std::string> shell = {"/bin/sh", "-c"};
  // ARG names whose values this step's expansion read. RUN also sees every ARG in scope through
  // build_args, which is what its cache key must cover.
  std::set<std::string> used_args;
  std::vector<StepId> deps;         // the previous step of the stage, and other stages' last steps
  std::vector<ExternalInput> externals;
};

struct PlannedStage {
  int index = 0;
  std::string name;
  BaseRef base;
  std::string platform;  // expanded --platform, or empty
  std::vector<StepId> steps;
  std::set<int> depends_on;  // stages this stage reads (base, COPY --from, RUN --mount from)
  bool needed = false;
  int triggers = 0;  // the first `triggers` instructions are the base image's ONBUILD triggers
};

struct ArgUse {
  std::string name;
  std::optional<std::string> default_value;  // unexpanded, as declared
  std::optional<std::string> value;          // what this build uses
  bool global = false;
  Location location;
  std::vector<int> used_on_lines;
};

struct SecretUse {
  std::string id;
  bool required = false;
  bool ssh = false;
  std::vector<int> lines;
};

// Whether an ARG is one of the predefined proxy ARGs (HTTP_PROXY, no_proxy, ...): they reach
// RUN without a declaration and stay out of cache keys and history.
bool IsProxyArg(std::string_view name);

struct Plan {
  Program program;
  std::vector<PlannedStage> stages;  // one per Program stage, in file order
  std::vector<PlannedStep> steps;    // steps of needed stages only
  std::vector<int> order;            // needed stages in build order (dependencies first)
  int target = 0;
  std::vector<ArgUse> args;
  std::vector<SecretUse> secrets;
  std::vector<std::string> unused_build_args;
  std::vector<Warning> warnings;  // build checks that need the plan (UndefinedVar)
};

Plan MakePlan(Program program, const PlanOptions& options);

}  // namespace imgbuild::frontend
