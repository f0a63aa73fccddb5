#include "layers/layer_walk.h"

#include <fcntl.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "layers/sys_error.h"

namespace imgbuild::layers {
namespace {

void WalkAt(int dir, const std::string& root, const std::string& rel, std::vector<WalkEntry>& out) {
  for (const std::string& n : ListDirAt(dir, rel.empty() ? root : root + "/" + rel)) {
    std::string child = rel.empty() ? n : rel + "/" + n;
    struct stat st;
    if (::fstatat(dir, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) throw SysError("lstat", root + "/" + child);
    out.push_back({child, st, 0});
    if (!S_ISDIR(st.st_mode)) continue;
    UniqueFd sub(::openat(dir, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub) throw SysError("open", root + "/" + child);
    WalkAt(sub.get(), root, child, out);
  }
}

bool Whiteout(const struct stat& st) { return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0); }

bool Opaque(int fd) {
  char v[2] = {};
  return ::fgetxattr(fd, "trusted.overlay.opaque", v, sizeof v) == 1 && v[0] == 'y';
}

// One directory as the stack shows it: `fds[i]` is that directory in dirs[i] (or -1).
void MergedAt(const std::vector<std::string>& dirs, const std::vector<int>& fds, const std::string& rel,
              std::vector<WalkEntry>& out) {
  std::set<std::string> names;
  for (size_t i = 0; i < fds.size(); ++i) {
    if (fds[i] < 0) continue;
    for (std::string& n : ListDirAt(fds[i], dirs[i] + "/" + rel)) names.insert(std::move(n));
  }
  for (const std::string& n : names) {
    const std::string child = rel.empty() ? n : rel + "/" + n;
    std::vector<struct stat> st(fds.size());
    std::vector<char> has(fds.size(), 0);
    for (size_t i = 0; i < fds.size(); ++i) {
      has[i] = fds[i] >= 0 && ::fstatat(fds[i], n.c_str(), &st[i], AT_SYMLINK_NOFOLLOW) == 0;
    }
    const size_t top = static_cast<size_t>(std::find(has.begin(), has.end(), 1) - has.begin());
    if (Whiteout(st[top])) {
      // Deletes something further down the stack (merged away) or under the stack (kept).
      if (std::find(has.begin() + static_cast<long>(top) + 1, has.end(), 1) == has.end()) out.push_back({child, st[top], top});
      continue;
    }
    out.push_back({child, st[top], top});
    if (!S_ISDIR(st[top].st_mode)) continue;
    std::vector<UniqueFd> owned;
    std::vector<int> sub(fds.size(), -1);
    for (size_t i = top; i < fds.size(); ++i) {
      if (!has[i]) continue;
      if (!S_ISDIR(st[i].st_mode)) break;  // a file or whiteout hides the rest of the stack
      owned.emplace_back(::openat(fds[i], n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!owned.back()) throw SysError("open", dirs[i] + "/" + child);
      sub[i] = owned.back().get();
      if (Opaque(sub[i])) break;
    }
    MergedAt(dirs, sub, child, out);
  }
}

}  // namespace

std::vector<WalkEntry> Walk(const std::string& root) {
  UniqueFd fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw SysError("open", root);
  std::vector<WalkEntry> out;
  WalkAt(fd.get(), root, "", out);
  return out;
}

std::vector<WalkEntry> WalkMerged(const std::vector<std::string>& dirs) {
  if (dirs.size() == 1) return Walk(dirs[0]);
  std::vector<UniqueFd> owned;
  std::vector<int> fds;
  for (const std::string& d : dirs) {
    owned.emplace_back(::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!owned.back()) throw SysError("open", d);
    fds.push_back(owned.back().get());
  }
  std::vector<WalkEntry> out;
  MergedAt(dirs, fds, "", out);
  return out;
}

}  // namespace imgbuild::layers
