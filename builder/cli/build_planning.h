// Planning a build: the Buildfile read (once: standard input cannot be read again) and checked,
// remote named contexts fetched, base images pulled per --pull, the plan made for the
// invocation's platform. A multi-platform build plans once per platform.
#pragma once

#include <optional>

#include "builder/cli/build_flags.h"
#include "builder/progress/progress.h"
#include "builder/state/workspace.h"
#include "frontend/plan.h"

namespace imgbuild::builder {

// Throws BuildError (or the frontend's errors) for what stops it.
frontend::Plan PlanBuild(const BuildOptions& options, BuildInvocation& inv, std::optional<Workspace>& remote_contexts,
                         Progress& status);

}  // namespace imgbuild::builder
