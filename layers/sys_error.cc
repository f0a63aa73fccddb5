#include "layers/sys_error.h"

#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/xattr.h>

#include <algorithm>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <random>

namespace imgbuild::layers {

SysError::SysError(const std::string& operation, const std::string& path, int err)
    : Error(operation + " " + path + ": " + std::strerror(err)), err_(err) {}

void WriteAll(int fd, const void* data, size_t size, const std::string& path) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw SysError("write", path);
    }
    p += n;
    size -= static_cast<size_t>(n);
  }
}

void SyncDir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw SysError("open", dir);
  if (::fsync(fd.get()) != 0) throw SysError("fsync", dir);
}

void WriteFileAtomic(const std::string& path, const std::string& data, mode_t mode, bool durable) {
  size_t slash = path.find_last_of('/');
  std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string tmp = path + ".tmp-" + std::to_string(rng());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd) throw SysError("create", tmp);
  try {
    WriteAll(fd.get(), data.data(), data.size(), tmp);
    if (::fchmod(fd.get(), mode) != 0) throw SysError("chmod", tmp);
    if (durable && ::fsync(fd.get()) != 0) throw SysError("fsync", tmp);
    fd.Reset();
    if (::rename(tmp.c_str(), path.c_str()) != 0) throw SysError("rename", tmp);
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
  if (durable) SyncDir(dir);
}

std::string ReadFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw SysError("open", path);
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw SysError("read", path);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

void MakeDirs(const std::string& path, mode_t mode) {
  if (path.empty()) return;
  std::string cur;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    cur = path.substr(0, pos);
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST) throw SysError("mkdir", cur);
  }
}

void ReadChunks(const std::string& path, const std::function<void(std::string_view)>& chunk) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw SysError("open", path);
  static thread_local std::vector<char> buf(1 << 20);
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      throw SysError("read", path);
    }
    if (n == 0) return;
    chunk(std::string_view(buf.data(), static_cast<size_t>(n)));
  }
}

std::vector<std::string> ListDir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) throw SysError("opendir", dir);
  return ListDirAt(fd.get(), dir);
}

std::vector<std::string> ListDirAt(int fd, const std::string& shown) {
  int copy = ::dup(fd);
  DIR* d = copy < 0 ? nullptr : ::fdopendir(copy);
  if (!d) {
    if (copy >= 0) ::close(copy);
    throw SysError("opendir", shown);
  }
  ::rewinddir(d);
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

std::string ReadLink(const std::string& path) {
  std::string target(4096, '\0');
  ssize_t n = ::readlink(path.c_str(), target.data(), target.size());
  if (n < 0) throw SysError("readlink", path);
  target.resize(static_cast<size_t>(n));
  return target;
}

std::string ResolveInside(const std::string& root, const std::string& rel) {
  UniqueFd dir(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir) throw SysError("open", root);
  struct open_how how = {};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  long fd;
  do {  // EAGAIN: a rename anywhere raced the walk of ".." (RESOLVE_IN_ROOT's check); try again
    fd = ::syscall(SYS_openat2, dir.get(), rel.c_str(), &how, sizeof how);
  } while (fd < 0 && (errno == EAGAIN || errno == EINTR));
  if (fd < 0) throw SysError("open (inside " + root + ")", rel);
  UniqueFd file(static_cast<int>(fd));
  std::string proc = "/proc/self/fd/" + std::to_string(file.get());
  std::string resolved = ReadLink(proc);
  std::string base = ReadLink("/proc/self/fd/" + std::to_string(dir.get()));
  if (resolved != base && resolved.rfind(base + "/", 0) != 0) throw SysError("resolve (outside " + root + ")", rel, EXDEV);
  return resolved;
}

std::map<std::string, std::string> ListXattrs(const std::string& path) {
  std::map<std::string, std::string> out;
  ssize_t len = ::llistxattr(path.c_str(), nullptr, 0);
  if (len <= 0) return out;
  std::string names(static_cast<size_t>(len), '\0');
  len = ::llistxattr(path.c_str(), names.data(), names.size());
  for (size_t i = 0; len > 0 && i < static_cast<size_t>(len);) {
    std::string n(names.c_str() + i);
    i += n.size() + 1;
    ssize_t vlen = ::lgetxattr(path.c_str(), n.c_str(), nullptr, 0);
    std::string v(static_cast<size_t>(std::max<ssize_t>(vlen, 0)), '\0');
    if (vlen > 0) vlen = ::lgetxattr(path.c_str(), n.c_str(), v.data(), v.size());
    out[n] = v.substr(0, static_cast<size_t>(std::max<ssize_t>(vlen, 0)));
  }
  return out;
}

void CopyXattrs(int from, int to, const std::string& shown) {
  ssize_t len = ::flistxattr(from, nullptr, 0);
  if (len <= 0) return;
  std::string names(static_cast<size_t>(len), '\0');
  len = ::flistxattr(from, names.data(), names.size());
  std::string value;
  for (size_t i = 0; len > 0 && i < static_cast<size_t>(len);) {
    std::string n(names.c_str() + i);
    i += n.size() + 1;
    if (n.rfind("trusted.overlay.", 0) == 0) continue;
    ssize_t vlen = ::fgetxattr(from, n.c_str(), nullptr, 0);
    if (vlen < 0) continue;
    value.resize(static_cast<size_t>(vlen));
    if (vlen > 0 && (vlen = ::fgetxattr(from, n.c_str(), value.data(), value.size())) < 0) continue;
    if (::fsetxattr(to, n.c_str(), value.data(), static_cast<size_t>(vlen), 0) != 0 && errno != ENOTSUP &&
        errno != EPERM) {
      throw SysError("setxattr " + n, shown);
    }
  }
}

}  // namespace imgbuild::layers
