#include "layers/root_dir.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

namespace imgbuild::layers {
namespace {

std::string Join(const std::vector<std::string>& parts, size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += (out.empty() ? "" : "/") + parts[i];
  return out;
}

}  // namespace

std::vector<std::string> PathComponents(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    if (slash > start && !(slash - start == 1 && path[start] == '.')) parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

std::string ReadLinkAt(int dir, const std::string& name, const std::string& shown) {
  std::string target(4096, '\0');
  ssize_t n = ::readlinkat(dir, name.c_str(), target.data(), target.size());
  if (n < 0) throw SysError("readlink", shown);
  target.resize(static_cast<size_t>(n));
  return target;
}

RootDir::RootDir(const std::string& path) : path_(path), fd_(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)) {
  if (!fd_) throw SysError("open", path);
}

namespace {

int OpenHow(int root, const std::string& rel, int flags, mode_t mode, uint64_t resolve) {
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
  how.resolve = resolve;
  std::string p = rel;
  while (!p.empty() && p[0] == '/') p.erase(0, 1);
  if (p.empty()) p = ".";
  for (;;) {
    long fd = ::syscall(SYS_openat2, root, p.c_str(), &how, sizeof how);
    if (fd >= 0) return static_cast<int>(fd);
    if (errno != EAGAIN && errno != EINTR) return -errno;  // EAGAIN: a rename raced the walk
  }
}

}  // namespace

int RootDir::TryOpen(const std::string& rel, int flags, mode_t mode) const {
  return OpenHow(fd_.get(), rel, flags, mode, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

int RootDir::TryOpenExact(const std::string& rel, int flags) const {
  return OpenHow(fd_.get(), rel, flags, 0, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
}

UniqueFd RootDir::Open(const std::string& rel, int flags, mode_t mode) const {
  int fd = TryOpen(rel, flags, mode);
  if (fd < 0) throw SysError("open", path_ + " (inside) /" + rel, -fd);
  return UniqueFd(fd);
}

bool RootDir::Stat(const std::string& rel, struct stat* st, bool follow_last) const {
  int fd = TryOpen(rel, O_PATH | (follow_last ? 0 : O_NOFOLLOW));
  if (fd < 0) {
    if (fd == -ENOENT || fd == -ENOTDIR || fd == -ELOOP) return false;
    throw SysError("stat", path_ + " (inside) /" + rel, -fd);
  }
  UniqueFd f(fd);
  if (::fstat(f.get(), st) != 0) throw SysError("stat", path_ + " (inside) /" + rel);
  return true;
}

RootDir::Entry RootDir::Parent(const std::string& rel) const {
  std::vector<std::string> parts = PathComponents(rel);
  Entry e;
  if (parts.empty() || parts.back() == "..") {
    e.dir = Open(rel, O_PATH | O_DIRECTORY);
    e.name = ".";
    return e;
  }
  e.dir = Open(Join(parts, parts.size() - 1), O_PATH | O_DIRECTORY);
  e.name = parts.back();
  return e;
}

std::string RootDir::Resolve(const std::string& rel, bool follow_last) const {
  std::vector<std::string> pending = PathComponents(rel);
  std::reverse(pending.begin(), pending.end());  // a stack: the next component at the back
  std::vector<std::string> resolved;
  int links = 0;
  while (!pending.empty()) {
    std::string part = std::move(pending.back());
    pending.pop_back();
    if (part == "..") {
      if (!resolved.empty()) resolved.pop_back();
      continue;
    }
    resolved.push_back(part);
    if (pending.empty() && !follow_last) continue;
    // The parent is canonical (no links), and opened inside the root all the same.
    int dir = TryOpen(Join(resolved, resolved.size() - 1), O_PATH | O_DIRECTORY);
    if (dir < 0) continue;  // below a missing component: kept as written
    UniqueFd d(dir);
    struct stat st;
    if (::fstatat(d.get(), part.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISLNK(st.st_mode)) continue;
    if (++links > 255) throw SysError("resolve", path_ + " (inside) /" + rel, ELOOP);
    std::string target = ReadLinkAt(d.get(), part, path_ + "/" + Join(resolved, resolved.size()));
    resolved.pop_back();
    if (!target.empty() && target[0] == '/') resolved.clear();
    std::vector<std::string> t = PathComponents(target);
    for (auto it = t.rbegin(); it != t.rend(); ++it) pending.push_back(*it);
  }
  return Join(resolved, resolved.size());
}

}  // namespace imgbuild::layers
