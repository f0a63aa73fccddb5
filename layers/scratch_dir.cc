#include "layers/scratch_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <ctime>
#include <filesystem>
#include <random>

namespace imgbuild::layers {

namespace fs = std::filesystem;

void ReapScratchDirs(const std::string& parent, const std::string& marker) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(parent, ec)) {
    if (entry.path().filename().string().find(marker) == std::string::npos) continue;
    if (!entry.is_directory(ec) || entry.is_symlink(ec)) continue;
    std::string dir = entry.path().string();
    UniqueFd lock(::open((dir + "/.lock").c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC));
    if (lock) {
      if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) continue;  // its owner is alive
    } else {
      struct stat st;  // made, but not locked yet (or by an older version): only when old
      if (::lstat(dir.c_str(), &st) != 0 || st.st_mtime > ::time(nullptr) - 3600) continue;
    }
    fs::remove_all(dir, ec);
  }
}

ScratchDir::ScratchDir(const std::string& parent, const std::string& prefix, const std::string& marker) {
  MakeDirs(parent);
  ReapScratchDirs(parent, marker);
  std::mt19937_64 rng{std::random_device{}()};
  path_ = parent + "/" + prefix + std::to_string(rng() % 1000000000);
  if (::mkdir(path_.c_str(), 0700) != 0) throw SysError("mkdir", path_);
  lock_ = UniqueFd(::open((path_ + "/.lock").c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!lock_ || ::flock(lock_.get(), LOCK_EX) != 0) {
    SysError e("lock", path_ + "/.lock");
    std::error_code ec;
    fs::remove_all(path_, ec);
    throw e;
  }
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

}  // namespace imgbuild::layers
