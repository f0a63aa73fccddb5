// Runs a build plan: each needed stage from its base (scratch, an earlier stage, or an image of
// the local store whose layers are applied into snapshots), each step in order: metadata steps
// change the image config, COPY/ADD/WORKDIR/RUN write a snapshot whose upper directory becomes a
// layer (RUN in the sandbox). Independent stages run at once. The result is stored in the local
// store (ROOT/oci) and tagged. Each RUN's output is kept in ROOT/logs/<build>/step-N.log.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "builder/solver/build_request.h"
#include "builder/progress/status.h"
#include "frontend/plan.h"
#include "layers/descriptor.h"
#include "layers/image.h"
#include "layers/layer_writer.h"

namespace imgbuild::builder {

// The configuration the plan needs of a local-store image (for FROM IMAGE), if the store has it.
std::optional<frontend::BaseImageInfo> LookupBaseImage(const std::string& root, const std::string& ref);

BuiltImage BuildImage(const frontend::Plan& plan, const BuildRequest& request, Status& status);

}  // namespace imgbuild::builder
