// The solver: runs a build plan. It schedules (each needed stage on a thread of its own once the
// stages it reads are done, at most --jobs at once, the first failure cancelling the rest) and
// drives each step through the same sequence: key (solver/step_inputs), cache lookup
// (solver/step_cache), on a miss the op of its family (builder/ops/), record. Instruction
// semantics live in the ops, bases in solver/base_images, the final image in
// solver/image_assembly.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "builder/sandbox/executor.h"
#include "builder/solver/build_request.h"
#include "builder/progress/status.h"
#include "frontend/plan.h"
#include "layers/descriptor.h"
#include "layers/image.h"
#include "layers/layer_writer.h"

namespace imgbuild::builder {

// The configuration the plan needs of a local-store image (for FROM IMAGE), if the store has it
// (of a multi-platform image: `platform`'s manifest).
std::optional<frontend::BaseImageInfo> LookupBaseImage(const std::string& root, const std::string& ref,
                                                       const layers::Platform& platform);

BuiltImage BuildImage(const frontend::Plan& plan, const BuildRequest& request, Status& status);
// The same with RUN commands executed by `executor` (the sandbox's stand-in in tests).
BuiltImage BuildImage(const frontend::Plan& plan, const BuildRequest& request, Status& status, Executor& executor);

}  // namespace imgbuild::builder
