// RootDir: the one way to touch a tree whose content someone else chose (an image root, a
// stage, the build context, an unpacked archive). Every path is resolved by the kernel inside
// the root (openat2 RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS): "..", absolute symlinks and
// relative ones all stop at the root, even if the tree changes meanwhile. Callers create and
// change files with *at() calls on the directory fds it hands out, never with a host path.
// Paths are root-relative ("" and "." name the root; a leading '/' is allowed).
#pragma once

#include <sys/stat.h>

#include <string>
#include <vector>

#include "layers/sys_error.h"

namespace imgbuild::layers {

class RootDir {
 public:
  // Opens `path` (O_PATH). Throws SysError.
  explicit RootDir(const std::string& path);

  const std::string& path() const { return path_; }
  int fd() const { return fd_.get(); }

  // `rel` opened inside the root; `flags` as open(2) (O_NOFOLLOW: the last component is not
  // followed). Throws SysError naming the root and `rel`.
  UniqueFd Open(const std::string& rel, int flags, mode_t mode = 0) const;
  // As Open, but returns -errno instead of throwing.
  int TryOpen(const std::string& rel, int flags, mode_t mode = 0) const;
  // As TryOpen, but no component may be a symlink (-ELOOP): for a path that must still be
  // exactly what imgbuild made, whatever a RUN did to the tree since.
  int TryOpenExact(const std::string& rel, int flags) const;

  // stat of `rel` inside the root (lstat when !follow_last); false when it does not exist.
  bool Stat(const std::string& rel, struct stat* st, bool follow_last = false) const;

  // The canonical root-relative path of `rel`: no ".", "..", or symlinks (followed inside the
  // root; the last component only when follow_last). Components that do not exist are kept as
  // written. Throws SysError(ELOOP) after 255 links.
  std::string Resolve(const std::string& rel, bool follow_last = true) const;

  // The directory that holds `rel` (opened inside the root, O_PATH) and `rel`'s last name, for
  // *at() calls; for the root itself, the root and ".".
  struct Entry {
    UniqueFd dir;
    std::string name;
  };
  Entry Parent(const std::string& rel) const;

  // A path that names exactly the file `fd` holds open (/proc/self/fd/N), for APIs that take
  // paths (libarchive): it cannot be redirected.
  static std::string FdPath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

 private:
  std::string path_;
  UniqueFd fd_;
};

// The target of the symlink `name` in directory `dir`. Throws SysError.
std::string ReadLinkAt(int dir, const std::string& name, const std::string& shown);

// The non-empty, non-"." components of a '/'-separated path, as written.
std::vector<std::string> PathComponents(const std::string& path);

}  // namespace imgbuild::layers
