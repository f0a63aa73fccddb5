#include "builder/sandbox/mount_stubs.h"

#include <fcntl.h>
#include <unistd.h>

#include "builder/rootfs/rootfs_path.h"
#include "layers/sys_error.h"

namespace imgbuild::builder {
namespace {

bool SameTime(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

}  // namespace

std::string MountStubs::Ensure(const std::string& path, bool dir) {
  std::string rel = ResolveInRoot(root_, path);
  std::vector<std::string> parts = SplitPath(rel);
  std::string cur;
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string parent = cur;
    cur += (cur.empty() ? "" : "/") + parts[i];
    std::string full = root_ + "/" + cur;
    struct stat st;
    if (::lstat(full.c_str(), &st) == 0) continue;
    if (errno != ENOENT) throw layers::SysError("lstat", full);
    std::string parent_full = parent.empty() ? root_ : root_ + "/" + parent;
    Created c;
    c.rel = cur;
    c.dir = dir || i + 1 < parts.size();
    struct stat pst;
    if (::lstat(parent_full.c_str(), &pst) != 0) throw layers::SysError("lstat", parent_full);
    c.parent_before[0] = pst.st_atim;
    c.parent_before[1] = pst.st_mtim;
    if (c.dir) {
      if (::mkdir(full.c_str(), 0755) != 0) throw layers::SysError("mkdir", full);
    } else {
      int fd = ::open(full.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
      if (fd < 0) throw layers::SysError("create", full);
      ::close(fd);
    }
    if (::lstat(parent_full.c_str(), &pst) != 0) throw layers::SysError("lstat", parent_full);
    c.parent_after = pst.st_mtim;
    created_.push_back(std::move(c));
  }
  return rel;
}

void MountStubs::Remove() noexcept {
  for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
    std::string full = root_ + "/" + it->rel;
    size_t slash = it->rel.find_last_of('/');
    std::string parent_full = slash == std::string::npos ? root_ : root_ + "/" + it->rel.substr(0, slash);
    struct stat st, pst;
    if (::lstat(full.c_str(), &st) != 0) continue;
    bool untouched_parent = ::lstat(parent_full.c_str(), &pst) == 0 && SameTime(pst.st_mtim, it->parent_after);
    bool removed = it->dir ? S_ISDIR(st.st_mode) && ::rmdir(full.c_str()) == 0
                           : S_ISREG(st.st_mode) && st.st_size == 0 && ::unlink(full.c_str()) == 0;
    if (removed && untouched_parent) {
      ::utimensat(AT_FDCWD, parent_full.c_str(), it->parent_before, AT_SYMLINK_NOFOLLOW);
    }
  }
  created_.clear();
}

}  // namespace imgbuild::builder
