#include "builder/state/workspace.h"

#include "builder/sandbox/user_network.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <ctime>
#include <random>
#include <vector>

namespace imgbuild::builder {

namespace fs = std::filesystem;

// Unmounts and removes what builds that died (killed, power loss) left in ROOT/tmp. A live build
// holds an exclusive lock on its scratch directory's .lock; the kernel drops it when the process
// dies, so a lock we can take belongs to a dead build. Nothing there is ever trusted later.
void ReapDeadBuilds(const std::string& tmp, const std::string& snapshots) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(tmp, ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(".new-build-", 0) == 0) {
      // A workspace whose build died before it was ready (see Workspace): empty, and old.
      struct stat st;
      if (::stat(entry.path().c_str(), &st) == 0 && st.st_mtime < ::time(nullptr) - 3600) fs::remove_all(entry.path(), ec);
      continue;
    }
    if (name.rfind("build-", 0) != 0) continue;
    std::string dir = entry.path().string();
    layers::UniqueFd lock(::open((dir + "/.lock").c_str(), O_RDWR | O_CLOEXEC));
    if (lock && ::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) continue;  // still building
    // The user-mode networks of its RUN steps (pasta daemons) outlive it: stopped first.
    for (const auto& sub : fs::directory_iterator(dir, ec)) {
      if (sub.path().filename().string().rfind("net-", 0) == 0) StopPasta(sub.path().string() + "/pasta.pid", false);
    }
    std::vector<std::string> mounts;
    std::ifstream in("/proc/self/mounts");
    std::string dev, point, rest;
    while (in >> dev >> point && std::getline(in, rest)) {
      if (point.rfind(dir + "/", 0) == 0) mounts.push_back(point);
    }
    std::sort(mounts.rbegin(), mounts.rend());
    for (const std::string& m : mounts) ::umount2(m.c_str(), MNT_DETACH);
    // Its step snapshots are named after its scratch directory.
    for (const std::string& snaps : {snapshots, snapshots + "-copy"}) {
      for (const auto& snap : fs::directory_iterator(snaps, ec)) {
        std::string sn = snap.path().filename().string();
        std::string prefix = BuildSnapshotPrefix(name);
        if (sn.rfind(prefix, 0) == 0 || sn.rfind(".removing-" + prefix, 0) == 0) {
          fs::remove_all(snap.path(), ec);
        }
      }
    }
    fs::remove_all(dir, ec);
  }
}

Workspace::Workspace(const StateDir& state) {
  ReapDeadBuilds(state.tmp(), state.snapshots());
  std::mt19937_64 rng{std::random_device{}()};
  std::string name = "build-" + std::to_string(::getpid()) + "-" + std::to_string(rng() % 1000000);
  dir_ = state.tmp() + "/" + name;
  tmp_ = state.tmp();
}

void Workspace::Make() const {
  std::call_once(made_, [this] {
    // Made under another name and locked before it gets its own, so a build starting at the
    // same moment never takes it for a dead build's (it reaps only unlocked build-* directories).
    std::string fresh = tmp_ + "/.new-" + name();
    layers::MakeDirs(fresh);
    lock_.Reset(::open((fresh + "/.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!lock_ || ::flock(lock_.get(), LOCK_EX) != 0) throw layers::SysError("lock", fresh + "/.lock");
    if (::rename(fresh.c_str(), dir_.c_str()) != 0) throw layers::SysError("rename", fresh);
    exists_ = true;
  });
}

const std::string& Workspace::dir() const {
  Make();
  return dir_;
}

Workspace::~Workspace() {
  if (!exists_) return;
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string Workspace::NewDir(const std::string& prefix) {
  Make();
  std::string d = dir_ + "/" + prefix + std::to_string(counter_++);
  layers::MakeDirs(d);
  return d;
}

}  // namespace imgbuild::builder
