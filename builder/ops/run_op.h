// RUN: the command in the sandbox on the stage's snapshot, its mounts, its network and
// security mode, its output streamed to the Status and kept in ROOT/logs/<build>/step-N.log; a
// failure names the exit code, the step's Buildfile lines and the tail of the output.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "builder/ops/op.h"
#include "builder/sandbox/executor.h"
#include "builder/sandbox/run_step.h"
#include "builder/solver/build_env.h"
#include "builder/solver/stage_state.h"
#include "builder/solver/step_keys.h"
#include "frontend/plan.h"

namespace imgbuild::builder {

class RunOp {
 public:
  RunOp(BuildEnv& env, Sources& sources, Executor& executor) : env_(env), sources_(sources), executor_(executor) {}

  // Runs the step into a new layer of `img`; returns the progress detail ("exit code 0").
  std::string Exec(const frontend::PlannedStep& step, const frontend::RunStep& run, StageImage& img, int n);
  // The entitlements the step needs (--security=insecure, --network=host), checked whether it
  // runs or comes from the cache, as BuildKit does. Fails the step (BuildEnv::Fail) otherwise.
  void CheckEntitlements(const frontend::PlannedStep& step, const frontend::RunStep& run) const;

 private:
  [[noreturn]] void FailRun(const frontend::PlannedStep& step, const RunStepResult& r, const std::string& log);
  std::string LogPath(int n);
  const SandboxEtc& Etc();

  BuildEnv& env_;
  Sources& sources_;
  Executor& executor_;
  std::mutex mu_;  // log_dir_, etc_
  std::string log_dir_;
  std::optional<SandboxEtc> etc_;
};

// The fields of a RUN key: the command (and heredoc scripts), the full environment (ENV and every
// ARG in scope; proxy ARGs never), user, workdir, network, security and each mount.
KeyFields RunKeyFields(const frontend::PlannedStep& step, const frontend::RunStep& run, const StepKeyInputs& in);

// The network a RUN gets: its own --network, else the build's ("default", "none", "host").
std::string EffectiveNetwork(const BuildRequest& req, const frontend::RunStep& run);

// "|2 A=1 B=2 " as BuildKit's history shows the ARGs a RUN sees (proxy ARGs left out).
std::string RunArgsPrefix(const frontend::PlannedStep& step);

}  // namespace imgbuild::builder
