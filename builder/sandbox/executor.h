// The seam between a RUN step and what executes its command. The Linux sandbox (namespaces,
// mounts, capabilities; run_step.h) is the implementation builds use; tests of the solver and
// the ops use a fake that records the commands and writes files into the step's root instead.
#pragma once

#include <memory>

#include "builder/sandbox/run_step.h"

namespace imgbuild::builder {

class Executor {
 public:
  virtual ~Executor() = default;
  // Runs `in`'s command on `in.rootfs`. Throws RunMountError, OwnerError, SysError or EmulationError for what
  // stops it from starting; a non-zero exit is a result, not an exception.
  virtual RunStepResult Run(const RunStepInput& in) = 0;
};

// The Linux sandbox (ExecuteRun).
std::unique_ptr<Executor> NewSandboxExecutor();

}  // namespace imgbuild::builder
