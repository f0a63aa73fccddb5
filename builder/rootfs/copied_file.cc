#include "builder/rootfs/copied_file.h"

#include <fcntl.h>
#include <sys/xattr.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include <cerrno>

#include "layers/sys_error.h"

namespace imgbuild::builder {

FileStamp FileStamp::Of(const struct stat& st) {
  FileStamp s;
  s.dev = st.st_dev;
  s.ino = st.st_ino;
  s.size = st.st_size;
  s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  s.ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec;
  s.mode = st.st_mode;
  s.uid = st.st_uid;
  s.gid = st.st_gid;
  return s;
}

bool ChownAt(int dir, const std::string& name, uid_t uid, gid_t gid) {
  return ::geteuid() != 0 || ::fchownat(dir, name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) == 0;
}

bool FChown(int fd, uid_t uid, gid_t gid) { return ::geteuid() != 0 || ::fchown(fd, uid, gid) == 0; }

void WriteFileCopy(int sdir, const std::string& sname, int ddir, const std::string& dname, const FileMeta& meta,
                   const std::string& src_shown, const std::string& shown, off_t size, layers::PendingFills* later,
                   const std::string& rel) {
  layers::UniqueFd in;
  struct stat in_st {};
  if (sdir >= 0) {
    in = layers::UniqueFd(::openat(sdir, sname.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!in) throw layers::SysError("open", src_shown);
    if (later && ::fstat(in.get(), &in_st) != 0) throw layers::SysError("stat", src_shown);
  }
  layers::UniqueFd out(::openat(ddir, dname.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!out) throw layers::SysError("create", shown);
  if (in && later && later->Wants(in.get(), in_st, meta.mode)) {
    // Its bytes come while the layer is hashed (pending_fills.h): the size now, the rest as usual.
    if (::ftruncate(out.get(), in_st.st_size) != 0) throw layers::SysError("truncate", shown);
    if (!FChown(out.get(), meta.uid, meta.gid)) throw layers::SysError("chown", shown);
    if (::fchmod(out.get(), meta.mode & 07777) != 0) throw layers::SysError("chmod", shown);
    struct timespec times[2] = {meta.atime, meta.mtime};
    ::futimens(out.get(), times);
    struct stat out_st;
    if (::fstat(out.get(), &out_st) != 0) throw layers::SysError("stat", shown);
    later->Add(rel, {std::move(in), in_st, out_st.st_ino, meta.mtime, src_shown});
    return;
  }
  if (in) CopyFileData(in.get(), out.get(), size, src_shown);
  if (!FChown(out.get(), meta.uid, meta.gid)) throw layers::SysError("chown", shown);
  if (::fchmod(out.get(), meta.mode & 07777) != 0) throw layers::SysError("chmod", shown);
  if (in) layers::CopyXattrs(in.get(), out.get(), shown);
  struct timespec times[2] = {meta.atime, meta.mtime};
  ::futimens(out.get(), times);
}

void CopyFileData(int in, int out, off_t size, const std::string& shown) {
  off_t left = size;
  while (left > 0) {
    ssize_t n = ::copy_file_range(in, nullptr, out, nullptr, static_cast<size_t>(left), 0);
    if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL)) {
      n = ::sendfile(out, in, nullptr, static_cast<size_t>(left));
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      throw layers::SysError("copy", shown);
    }
    if (n == 0) break;
    left -= n;
  }
}

void WriteNewFile(int dir, const std::string& name, const std::string& content, const FileMeta& meta,
                  const std::string& shown) {
  layers::UniqueFd out(::openat(dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!out) throw layers::SysError("create", shown);
  layers::WriteAll(out.get(), content.data(), content.size(), shown);
  if (!FChown(out.get(), meta.uid, meta.gid)) throw layers::SysError("chown", shown);
  if (::fchmod(out.get(), meta.mode & 07777) != 0) throw layers::SysError("chmod", shown);
}

void SetDirMeta(int src, int dst, const FileMeta& meta, const std::string& shown) {
  struct stat cur;
  if (::fstat(dst, &cur) == 0 && cur.st_uid == meta.uid && cur.st_gid == meta.gid &&
      (cur.st_mode & 07777) == (meta.mode & 07777) && cur.st_mtim.tv_sec == meta.mtime.tv_sec &&
      cur.st_mtim.tv_nsec == meta.mtime.tv_nsec && ::flistxattr(src, nullptr, 0) <= 0 &&
      ::flistxattr(dst, nullptr, 0) <= 0) {
    return;
  }
  if (!FChown(dst, meta.uid, meta.gid)) throw layers::SysError("chown", shown);
  if (::fchmod(dst, meta.mode & 07777) != 0) throw layers::SysError("chmod", shown);
  layers::CopyXattrs(src, dst, shown);
  struct timespec times[2] = {meta.atime, meta.mtime};
  ::futimens(dst, times);
}

}  // namespace imgbuild::builder
