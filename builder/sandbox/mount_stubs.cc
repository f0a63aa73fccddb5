#include "builder/sandbox/mount_stubs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/rootfs/rootfs_path.h"
#include "layers/root_dir.h"
#include "layers/sys_error.h"

namespace imgbuild::builder {
namespace {

bool SameTime(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

}  // namespace

std::string MountStubs::Ensure(const std::string& path, bool dir) {
  layers::RootDir root(root_);
  std::string rel = root.Resolve(path);
  std::vector<std::string> parts = SplitPath(rel);
  std::string cur;
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string parent = cur;
    cur += (cur.empty() ? "" : "/") + parts[i];
    layers::UniqueFd pfd = root.Open(parent, O_PATH | O_DIRECTORY);
    struct stat st;
    if (::fstatat(pfd.get(), parts[i].c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) continue;
    if (errno != ENOENT) throw layers::SysError("lstat", root_ + "/" + cur);
    Created c;
    c.rel = cur;
    c.dir = dir || i + 1 < parts.size();
    struct stat pst;
    if (::fstat(pfd.get(), &pst) != 0) throw layers::SysError("lstat", root_ + "/" + parent);
    c.parent_before[0] = pst.st_atim;
    c.parent_before[1] = pst.st_mtim;
    if (c.dir) {
      if (::mkdirat(pfd.get(), parts[i].c_str(), 0755) != 0) throw layers::SysError("mkdir", root_ + "/" + cur);
    } else {
      int fd = ::openat(pfd.get(), parts[i].c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
      if (fd < 0) throw layers::SysError("create", root_ + "/" + cur);
      ::close(fd);
    }
    if (::fstat(pfd.get(), &pst) != 0) throw layers::SysError("lstat", root_ + "/" + parent);
    c.parent_after = pst.st_mtim;
    created_.push_back(std::move(c));
  }
  return rel;
}

void MountStubs::Remove() noexcept {
  if (created_.empty()) return;
  try {
    layers::RootDir root(root_);
    for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
      size_t slash = it->rel.find_last_of('/');
      std::string parent = slash == std::string::npos ? "" : it->rel.substr(0, slash);
      std::string name = slash == std::string::npos ? it->rel : it->rel.substr(slash + 1);
      // The RUN may have moved the stub's parent away and put a symlink in its place: only the
      // very directory imgbuild made the stub in, reached without any symlink, is touched.
      int fd = root.TryOpenExact(parent, O_RDONLY | O_DIRECTORY);
      if (fd < 0) continue;
      layers::UniqueFd pfd(fd);
      struct stat st, pst;
      if (::fstatat(pfd.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      bool untouched_parent = ::fstat(pfd.get(), &pst) == 0 && SameTime(pst.st_mtim, it->parent_after);
      bool removed = it->dir ? S_ISDIR(st.st_mode) && ::unlinkat(pfd.get(), name.c_str(), AT_REMOVEDIR) == 0
                             : S_ISREG(st.st_mode) && st.st_size == 0 && ::unlinkat(pfd.get(), name.c_str(), 0) == 0;
      if (removed && untouched_parent) ::futimens(pfd.get(), it->parent_before);
    }
  } catch (const std::exception&) {
    // The root is gone: nothing is left to remove.
  }
  created_.clear();
}

}  // namespace imgbuild::builder
