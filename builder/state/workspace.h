// A build's scratch space under ROOT/tmp (mount points, context copies), locked while the build
// runs and removed when it ends; what builds that died left there (and their step snapshots) is
// reaped by the next build. It is made when first used (dir(), NewDir(); BuildEnv::NewKey before
// naming a snapshot after it): a no-op build writes nothing there.
#pragma once

#include <atomic>
#include <mutex>
#include <string>

#include "builder/state/state_dir.h"
#include "layers/sys_error.h"

namespace imgbuild::builder {

class Workspace {
 public:
  explicit Workspace(const StateDir& state);
  ~Workspace();
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;

  const std::string& dir() const;  // made on first use
  std::string name() const { return dir_.substr(dir_.find_last_of('/') + 1); }
  int Next() { return counter_++; }
  std::string NewDir(const std::string& prefix);

 private:
  void Make() const;
  std::string dir_, tmp_;
  mutable std::once_flag made_;
  mutable bool exists_ = false;
  mutable layers::UniqueFd lock_;  // held while the build runs
  std::atomic<int> counter_{0};
};

// Unmounts and removes the scratch directories (and step snapshots) of builds that died.
void ReapDeadBuilds(const std::string& tmp, const std::string& snapshots);

}  // namespace imgbuild::builder
