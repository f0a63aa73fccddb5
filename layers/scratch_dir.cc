#include "layers/scratch_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cerrno>
#include <ctime>
#include <filesystem>
#include <random>

namespace imgbuild::layers {

namespace fs = std::filesystem;

void ReapScratchDirs(const std::string& parent, const std::string& marker) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(parent, ec)) {
    std::string name = entry.path().filename().string();
    if (name.find(marker) == std::string::npos) continue;
    if (!entry.is_directory(ec) || entry.is_symlink(ec)) continue;
    std::string dir = entry.path().string();
    if (name.rfind(".reaping-", 0) == 0) {  // a reaper died while removing it: its owner is long dead
      fs::remove_all(dir, ec);
      continue;
    }
    UniqueFd lock(::open((dir + "/.lock").c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC));
    if (lock) {
      if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) continue;  // its owner is alive
    } else {
      // Made, but its owner died before locking it: still empty, so rmdir (which fails once the
      // lock is there) removes it without racing an owner that is about to lock it. One an older
      // version left with content goes when it is an hour old.
      if (::rmdir(dir.c_str()) == 0) continue;
      struct stat st;
      if (::lstat(dir.c_str(), &st) != 0 || st.st_mtime > ::time(nullptr) - 3600) continue;
    }
    // Renamed first, so a reaper killed half-way (its .lock already gone) leaves a name that says so.
    std::string doomed = parent + "/.reaping-" + name;
    if (::rename(dir.c_str(), doomed.c_str()) == 0) fs::remove_all(doomed, ec);
  }
}

ScratchDir::ScratchDir(const std::string& parent, const std::string& prefix, const std::string& marker) {
  MakeDirs(parent);
  ReapScratchDirs(parent, marker);
  std::mt19937_64 rng{std::random_device{}()};
  for (int attempt = 0;; ++attempt) {
    path_ = parent + "/" + prefix + std::to_string(rng() % 1000000000);
    if (::mkdir(path_.c_str(), 0700) != 0) throw SysError("mkdir", path_);
    lock_ = UniqueFd(::open((path_ + "/.lock").c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (lock_ && ::flock(lock_.get(), LOCK_EX) == 0) return;
    // Another process's reaper took the still-empty directory for a dead one's: try a new one.
    if (!lock_ && errno == ENOENT && attempt < 5) continue;
    SysError e("lock", path_ + "/.lock");
    std::error_code ec;
    fs::remove_all(path_, ec);
    throw e;
  }
}

ScratchDir::~ScratchDir() {
  // Renamed first, as the reaper does: killed half-way through removal (the .lock gone first),
  // the name still says it may go.
  std::error_code ec;
  size_t slash = path_.find_last_of('/');
  std::string doomed = path_.substr(0, slash + 1) + ".reaping-" + path_.substr(slash + 1);
  fs::remove_all(::rename(path_.c_str(), doomed.c_str()) == 0 ? doomed : path_, ec);
}

}  // namespace imgbuild::layers
