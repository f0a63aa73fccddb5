#include "builder/rootfs/copied_file.h"

#include <fcntl.h>
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

}  // namespace imgbuild::builder
