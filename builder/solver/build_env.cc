#include "builder/solver/build_env.h"

#include <chrono>
#include <thread>

namespace imgbuild::builder {
namespace {

std::string BuildTime(const BuildRequest& req) {
  int64_t now = req.source_date_epoch.value_or(
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  return layers::Rfc3339(now);
}

}  // namespace

BuildEnv::BuildEnv(const frontend::Plan& p, const BuildRequest& r, Status& status)
    : plan(p),
      req(r),
      state(r.root),
      store(LocalStore(state)),
      ws(state),
      snaps(NewSnapshotter(state.snapshots(), [this] { return ws.dir(); })),
      created(BuildTime(r)),
      status_(status) {
  store.store().ReapAbandoned();
}

BuildEnv::~BuildEnv() {
  for (auto it = owned_.rbegin(); it != owned_.rend(); ++it) {
    try {
      snaps->Remove(*it);
    } catch (const std::exception&) {
      // a later build's reaper removes what is left
    }
  }
}

void BuildEnv::Own(const std::string& key) {
  std::lock_guard<std::mutex> lock(owned_mu_);
  owned_.push_back(key);
}

void BuildEnv::Fail(const frontend::PlannedStep& step, const std::string& message) const {
  throw StepError(plan.program.file, step.location.line, step.keyword, message);
}

unsigned BuildEnv::Threads() { return std::max(1u, std::thread::hardware_concurrency()); }

}  // namespace imgbuild::builder
