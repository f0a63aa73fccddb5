// `imgbuild build`'s flags, checked and typed before anything runs: the build request, the plan
// options, the outputs, how layers leave the store and the registry options.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <vector>

#include "builder/cli/buildfile_source.h"
#include "builder/cli/commands.h"
#include "builder/cli/flags.h"
#include "builder/solver/build_request.h"
#include "frontend/plan.h"
#include "layers/image_export.h"
#include "layers/registry/client.h"

namespace imgbuild::builder {

struct BuildInvocation {
  BuildRequest req;
  frontend::PlanOptions plan_options;  // base_image (pulls) is set when planning
  std::vector<OutputSpec> outputs;
  layers::ExportOptions export_options;  // -o, --push: compression and the memo of compressed layers
  layers::registry::RegistryOptions registry_options;
  int64_t cache_limit = 0;
  // --platform A,B,...: the platforms built (one: a single image; several: an index of them).
  std::vector<frontend::PlatformSpec> platforms;
  std::map<std::string, std::string> index_annotations;  // --annotation index:K=V
  // The Buildfile once read (standard input is read once, whatever the platforms).
  std::optional<BuildfileSource> buildfile;
};

// 0 when every flag is good; else 2, after saying why on `err`.
int ParseBuildFlags(const BuildOptions& options, BuildInvocation& inv, std::ostream& err);

}  // namespace imgbuild::builder
