// What the solver and the ops of one build share: the plan and the request, the state dir and
// its store, the build's workspace and snapshotter, the build's time, a thread-safe way to talk
// to the Status printer, and the snapshots the build owns (removed when it ends). One per build.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "builder/progress/status.h"
#include "builder/snapshot/snapshotter.h"
#include "builder/solver/build_request.h"
#include "builder/state/state_dir.h"
#include "builder/state/workspace.h"
#include "frontend/plan.h"
#include "layers/oci_layout.h"

namespace imgbuild::builder {

class BuildEnv {
 public:
  BuildEnv(const frontend::Plan& plan, const BuildRequest& req, Status& status);
  ~BuildEnv();  // this build's own snapshots go, newest first
  BuildEnv(const BuildEnv&) = delete;
  BuildEnv& operator=(const BuildEnv&) = delete;

  const frontend::Plan& plan;
  const BuildRequest& req;
  const StateDir state;
  layers::OciLayout store;
  Workspace ws;
  std::unique_ptr<Snapshotter> snaps;
  const std::string created;  // the build's time (SOURCE_DATE_EPOCH when set), RFC 3339

  // A scratch snapshot name of this build, and one it owns (removed when the build ends).
  // A step snapshot's key, named after the workspace (made now, so a reaper finds it if we die).
  std::string NewKey(const char* what) {
    ws.dir();
    return BuildSnapshotName(ws.name(), what, ws.Next());
  }
  void Own(const std::string& key);

  // Status calls from any thread, one at a time.
  template <typename F>
  void Report(F&& f) {
    std::lock_guard<std::mutex> lock(status_mu_);
    f(status_);
  }
  // The build stops: another stage failed, or the user interrupted it.
  void MarkFailed() { failed_ = true; }
  bool Interrupted() const { return req.interrupted && req.interrupted->load(); }
  bool Cancelled() const { return failed_ || Interrupted(); }

  const frontend::Instruction& Instr(const frontend::PlannedStep& step) const {
    return plan.program.stages[step.stage].instructions[step.instruction];
  }
  // "Buildfile:12: COPY: MESSAGE"
  [[noreturn]] void Fail(const frontend::PlannedStep& step, const std::string& message) const;
  // The host's cores (what parallel hashing uses).
  static unsigned Threads();

 private:
  Status& status_;
  std::mutex status_mu_;
  std::atomic<bool> failed_{false};
  std::mutex owned_mu_;
  std::vector<std::string> owned_;
};

}  // namespace imgbuild::builder
