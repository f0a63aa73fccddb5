// Small system helpers shared by every module that touches files: SysError (an errno failure
// naming the operation and the path) and UniqueFd (an owned file descriptor).
#pragma once

#include <cerrno>
#include <functional>
#include <map>
#include <string_view>
#include <vector>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include "layers/error.h"

namespace imgbuild::layers {

class SysError : public Error {
 public:
  // "open /x/y: No such file or directory"
  SysError(const std::string& operation, const std::string& path, int err = errno);
  int error() const { return err_; }

 private:
  int err_;
};

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.Release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) Reset(o.Release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

// Writes all of `data` to `fd`; throws SysError naming `path`.
void WriteAll(int fd, const void* data, size_t size, const std::string& path);
// fsync of a directory, so a rename into it is durable.
void SyncDir(const std::string& dir);
// Writes `data` to `path` atomically: temp file in the same directory, fsync, rename, fsync dir.
// durable=false skips both fsyncs: after a crash the file is the old one, the new one, or
// empty/short (a reader must treat that as missing) — for data that is only a hint.
void WriteFileAtomic(const std::string& path, const std::string& data, mode_t mode = 0644, bool durable = true);
std::string ReadFile(const std::string& path);
void MakeDirs(const std::string& path, mode_t mode = 0755);
// Calls `chunk` with the file's bytes, 1 MiB at a time.
void ReadChunks(const std::string& path, const std::function<void(std::string_view)>& chunk);
// The names in a directory (no "." or ".."), sorted. Throws SysError.
std::vector<std::string> ListDir(const std::string& dir);
// The same for an open directory (left open and unmoved); `shown` names it in errors.
std::vector<std::string> ListDirAt(int fd, const std::string& shown);
// A symlink's target. Throws SysError.
std::string ReadLink(const std::string& path);
// The path of `rel` below `root` with every component, symlinks included, resolved inside `root`
// by the kernel (openat2 RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS): a name from an archive or a
// manifest can never lead out of it. Throws SysError when it does not exist.
std::string ResolveInside(const std::string& root, const std::string& rel);

// The extended attributes of `path` itself (never followed), by name; unreadable ones are empty.
std::map<std::string, std::string> ListXattrs(const std::string& path);

// The extended attributes of one open file onto another (after chown, which clears
// security.capability). Overlay's own are never copied; a name the target filesystem does not
// support is skipped, as BuildKit does. `shown` names the target in errors.
void CopyXattrs(int from, int to, const std::string& shown);

}  // namespace imgbuild::layers
