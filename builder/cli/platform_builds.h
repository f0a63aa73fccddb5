// A build of several platforms (--platform A,B,...): the Buildfile planned once per platform
// (its TARGET* args set for each), the platforms built at once, each with its steps numbered
// and labelled by its platform (progress/platform_status); a step that is the same for several
// (a FROM --platform=$BUILDPLATFORM stage) runs once and the others find it in the cache; the
// first platform to fail cancels the others. Then an OCI index of the images, each with its
// platform, goes into the store under the build's names (untagged, as docker's <none>, without
// one), and --cache-to gets every platform's records in one cache.
#pragma once

#include <optional>

#include "builder/cli/build_flags.h"
#include "builder/progress/progress.h"
#include "builder/solver/build_request.h"
#include "builder/state/workspace.h"

namespace imgbuild::builder {

// The index as the BuiltImage (manifest and config both name it: the image's ID, as buildx
// reports a multi-platform image's). Throws what the first failing platform threw.
BuiltImage BuildPlatforms(const BuildOptions& options, BuildInvocation& inv, std::optional<Workspace>& remote_contexts,
                          Progress& status);

}  // namespace imgbuild::builder
