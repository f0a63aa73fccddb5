#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <thread>
#include <nlohmann/json.hpp>

#include "builder/snapshot/dir_snapshotter.h"
#include "builder/snapshot/snapshotter.h"
#include "layers/applier.h"
#include "layers/digest.h"
#include "layers/sys_error.h"

namespace imgbuild::builder {

using layers::SysError;
using layers::UniqueFd;

std::unique_ptr<Snapshotter> NewSnapshotter(const std::string& dir, const std::function<std::string()>& scratch) {
  layers::MakeDirs(dir);
  const char* forced = std::getenv("IMGBUILD_SNAPSHOTTER");
  if (forced && std::string(forced) == "copy") return NewCopySnapshotter(dir + "-copy");
  // The probe mounts an overlay; its yes is remembered for this boot (DIR.works-BOOT_ID), so a
  // build that mounts nothing (a no-op) mounts nothing to find out.
  std::string boot;
  try {
    boot = layers::ReadFile("/proc/sys/kernel/random/boot_id");
    boot.erase(std::remove_if(boot.begin(), boot.end(), [](char c) { return !std::isxdigit(static_cast<unsigned char>(c)); }),
               boot.end());
  } catch (const std::exception&) {
  }
  const std::string memo = dir + ".works-" + boot;
  struct stat st;
  if (!boot.empty() && ::stat(memo.c_str(), &st) == 0) return NewOverlaySnapshotter(dir);
  if (detail::OverlayWorks(scratch())) {
    if (!boot.empty()) {
      std::error_code ec;
      const std::string prefix = std::filesystem::path(dir).filename().string() + ".works-";
      for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(dir).parent_path(), ec)) {
        if (e.path().filename().string().rfind(prefix, 0) == 0) std::filesystem::remove(e.path(), ec);  // earlier boots'
      }
      try {
        layers::WriteFileAtomic(memo, "", 0644, false);
      } catch (const std::exception&) {
        // only a speed-up
      }
    }
    return NewOverlaySnapshotter(dir);
  }
  return NewCopySnapshotter(dir);
}

namespace {

// Mount data is limited to one page. Deep overlay stacks with long paths exceed it, so, as
// containerd does, the mount is made from the directory that holds the layers with relative
// paths. The working directory is per process, so this happens on a thread of its own that
// first unshares it (CLONE_FS) and leaves every other thread's directory alone.
int MountOverlayRelative(const std::string& target, unsigned long flags, const std::string& data) {
  // The longest common directory prefix of every absolute path in the options.
  std::vector<std::string> paths;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t end = data.find_first_of(",:", pos);
    if (end == std::string::npos) end = data.size();
    std::string item = data.substr(pos, end - pos);
    size_t eq = item.find('=');
    std::string path = eq == std::string::npos ? item : item.substr(eq + 1);
    if (!path.empty() && path[0] == '/') paths.push_back(path);
    pos = end + 1;
  }
  if (paths.empty()) return EINVAL;
  std::string common = paths[0].substr(0, paths[0].find_last_of('/'));
  for (const std::string& p : paths) {
    while (!common.empty() && p.compare(0, common.size() + 1, common + "/") != 0) {
      common = common.substr(0, common.find_last_of('/'));
    }
  }
  if (common.empty()) return EINVAL;
  std::string relative;
  for (size_t i = 0; i < data.size();) {
    if (data.compare(i, common.size() + 1, common + "/") == 0 && (i == 0 || data[i - 1] == '=' || data[i - 1] == ':')) {
      i += common.size() + 1;
      continue;
    }
    relative += data[i++];
  }
  int result = 0;
  std::thread worker([&] {
    if (::unshare(CLONE_FS) != 0 || ::chdir(common.c_str()) != 0 ||
        ::mount("overlay", target.c_str(), "overlay", flags, relative.c_str()) != 0) {
      result = errno;
    }
  });
  worker.join();
  return result;
}

}  // namespace

MountGuard::MountGuard(const std::vector<Mount>& mounts, const std::string& target) : target_(target) {
  // Without root nothing can be mounted: a single bind (the copy snapshotter's only kind) is then
  // used where it is. Builds need root; this serves tools and tests that run without it.
  if (::geteuid() != 0 && mounts.size() == 1 && mounts[0].type == "bind") {
    target_ = mounts[0].source;
    return;
  }
  for (const Mount& m : mounts) {
    bool ro = std::find(m.options.begin(), m.options.end(), "ro") != m.options.end();
    if (m.type == "bind") {
      if (::mount(m.source.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) {
        throw SysError("bind mount " + m.source + " on", target);
      }
      mounted_ = true;
      if (ro && ::mount(nullptr, target.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0) {
        int err = errno;
        ::umount2(target.c_str(), MNT_DETACH);
        throw SysError("remount read-only", target, err);
      }
    } else {
      std::string data;
      for (const std::string& o : m.options) {
        if (o != "ro") data += (data.empty() ? "" : ",") + o;
      }
      unsigned long flags = ro ? MS_RDONLY : 0;
      if (data.size() > 3500 && m.type == "overlay") {
        int err = MountOverlayRelative(target, flags, data);
        if (err != 0) throw SysError("mount overlay (relative to the snapshot directory) on", target, err);
      } else if (::mount(m.source.c_str(), target.c_str(), m.type.c_str(), flags, data.c_str()) != 0) {
        // Kernels before 5.10 have no volatile overlay: mounted without, the unmount flushes.
        const size_t v = data.find(",volatile");
        if (errno != EINVAL || v == std::string::npos ||
            ::mount(m.source.c_str(), target.c_str(), m.type.c_str(), flags, data.erase(v, 9).c_str()) != 0) {
          throw SysError("mount " + m.type + " on", target);
        }
      }
      mounted_ = true;
    }
  }
}

MountGuard::~MountGuard() {
  if (mounted_) ::umount2(target_.c_str(), MNT_DETACH);
}

}  // namespace imgbuild::builder
