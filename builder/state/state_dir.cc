#include "builder/state/state_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "layers/sys_error.h"

namespace imgbuild::builder {

StateDir StateDir::Resolve(const std::string& root_flag) {
  if (!root_flag.empty()) return StateDir(root_flag);
  if (const char* env = std::getenv("IMGBUILD_ROOT"); env && *env) return StateDir(env);
  if (::geteuid() == 0) return StateDir("/var/lib/imgbuild");
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) return StateDir(std::string(xdg) + "/imgbuild");
  const char* home = std::getenv("HOME");
  return StateDir(std::string(home ? home : "/tmp") + "/.local/share/imgbuild");
}

StateDir StateDir::Open(const std::string& root_flag) {
  StateDir dir = Resolve(root_flag);
  struct stat st;
  bool existed = ::stat(dir.root().c_str(), &st) == 0;
  layers::MakeDirs(dir.root());
  if (::stat(dir.root().c_str(), &st) != 0) throw layers::SysError("stat", dir.root());
  if (!S_ISDIR(st.st_mode)) throw layers::SysError("open", dir.root(), ENOTDIR);
  // Only a directory that is (or was just made as) a state dir is tightened: `--root /tmp` must
  // never chmod /tmp.
  struct stat oci;
  bool ours = !existed || ::stat(dir.oci().c_str(), &oci) == 0;
  if (ours && st.st_uid == ::geteuid() && (st.st_mode & 077) != 0 && ::chmod(dir.root().c_str(), 0700) != 0)
    throw layers::SysError("chmod", dir.root());
  return dir;
}

std::string StateDir::snapshots(const std::string& kind) const {
  return kind == "overlay" ? Below("snapshots") : Below("snapshots") + "-" + kind;
}

std::string StateDir::cache_index(const std::string& kind) const {
  return Below("cache") + "/v1" + (kind == "overlay" ? "" : "-" + kind);
}

std::string ChainSnapshotName(const std::string& chain_id_hex) { return "chain-" + chain_id_hex; }

std::string CachedSnapshotName(const cache::CacheKey& key, const std::string& build, int n) {
  return "c-" + std::string(key.hex().substr(0, 16)) + "-" + build + "-" + std::to_string(n);
}

std::string BuildSnapshotName(const std::string& build, const std::string& what, int n) {
  return BuildSnapshotPrefix(build) + what + "-" + std::to_string(n);
}

bool IsChainSnapshot(const std::string& name) { return name.rfind("chain-", 0) == 0; }

std::string BuildSnapshotPrefix(const std::string& build) { return "b-" + build + "-"; }

layers::OciLayout LocalStore(const StateDir& state) {
  layers::OciLayout store(state.oci(), state.tmp());
  store.store().DeferLayersTo(state.deferred(), state.root());
  return store;
}

}  // namespace imgbuild::builder
