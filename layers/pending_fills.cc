#include "layers/pending_fills.h"

#include <fcntl.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <future>
#include <memory>
#include <vector>

#include "layers/error.h"
#include "layers/root_dir.h"

namespace imgbuild::layers {
namespace {

constexpr size_t kChunk = 4 << 20;  // a multiple of every block size O_DIRECT asks for

struct FreeDeleter {
  void operator()(char* p) const { std::free(p); }
};

std::unique_ptr<char, FreeDeleter> AlignedBuffer() {
  void* p = nullptr;
  if (::posix_memalign(&p, 4096, kChunk) != 0) throw std::bad_alloc();
  return std::unique_ptr<char, FreeDeleter>(static_cast<char*>(p));
}

bool SameFile(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size &&
         a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec &&
         a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec == b.st_ctim.tv_nsec;
}

// Writes `n` bytes at `at`; with O_DIRECT only while the length keeps its alignment (the last,
// short chunk is written through the page cache).
void WriteChunk(int fd, int flags, bool& direct, const char* data, size_t n, off_t at, const std::string& shown) {
  if (direct && n % 4096 != 0) {
    if (::fcntl(fd, F_SETFL, flags) != 0) throw SysError("fcntl", shown);
    direct = false;
  }
  size_t done = 0;
  while (done < n) {
    ssize_t w = ::pwrite(fd, data + done, n - done, at + static_cast<off_t>(done));
    if (w < 0) {
      if (errno == EINTR) continue;
      throw SysError("write", shown);
    }
    done += static_cast<size_t>(w);
  }
}

}  // namespace

bool PendingFills::Wants(int src, const struct stat& st, mode_t dest_mode) {
  if (!S_ISREG(st.st_mode) || st.st_size < kMinSize || st.st_nlink != 1) return false;
  if ((st.st_mode | dest_mode) & (S_ISUID | S_ISGID)) return false;
  if (::flistxattr(src, nullptr, 0) != 0) return false;  // has some, or cannot tell
  std::lock_guard<std::mutex> lock(mu_);
  return pending_.size() < kMaxFiles;
}

void PendingFills::Add(const std::string& rel, File file) {
  std::lock_guard<std::mutex> lock(mu_);
  pending_[rel.substr(rel.find_first_not_of('/') == std::string::npos ? rel.size() : rel.find_first_not_of('/'))] =
      std::move(file);
}

bool PendingFills::empty() {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_.empty();
}

void PendingFills::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  pending_.clear();
}

bool PendingFills::Take(const std::string& root, const std::string& rel, const struct stat& st,
                        const std::function<void(const char*, size_t)>& out) {
  File f;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = pending_.find(rel);
    if (it == pending_.end() || it->second.src_st.st_size != st.st_size || it->second.dst_ino != st.st_ino) return false;
    f = std::move(it->second);
    pending_.erase(it);
  }
  Write(root, rel, f, out);
  return true;
}

size_t PendingFills::FillRest(const std::string& root) {
  std::map<std::string, File> rest;
  {
    std::lock_guard<std::mutex> lock(mu_);
    rest.swap(pending_);
  }
  for (auto& [rel, f] : rest) Write(root, rel, f, [](const char*, size_t) {});
  return rest.size();
}

void PendingFills::Write(const std::string& root, const std::string& rel, File& f,
                         const std::function<void(const char*, size_t)>& out) {
  const std::string shown = "/" + rel;
  // Opened exactly as the copy made it: no component may have become a symlink.
  int fd = RootDir(root).TryOpenExact(rel, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) throw SysError("open", shown, -fd);
  UniqueFd dst(fd);
  struct stat dst_st;
  if (::fstat(dst.get(), &dst_st) != 0) throw SysError("stat", shown);
  if (!S_ISREG(dst_st.st_mode) || dst_st.st_size != f.src_st.st_size) {
    throw Error(shown + " is no longer the file the copy created");
  }
  const int flags = ::fcntl(dst.get(), F_GETFL);
  bool direct = flags >= 0 && ::fcntl(dst.get(), F_SETFL, flags | O_DIRECT) == 0;
  std::unique_ptr<char, FreeDeleter> bufs[2] = {AlignedBuffer(), AlignedBuffer()};
  std::future<void> writing;  // the previous chunk's write, while this one is hashed
  const off_t size = f.src_st.st_size;
  off_t off = 0;
  for (int i = 0; off < size; ++i) {
    char* buf = bufs[i % 2].get();
    const size_t want = static_cast<size_t>(std::min<off_t>(kChunk, size - off));
    size_t got = 0;
    while (got < want) {
      ssize_t n = ::pread(f.src.get(), buf + got, want - got, off + static_cast<off_t>(got));
      if (n < 0) {
        if (errno == EINTR) continue;
        throw SysError("read", f.shown);
      }
      if (n == 0) throw Error(f.shown + " shrank while it was copied");
      got += static_cast<size_t>(n);
    }
    out(buf, got);
    if (writing.valid()) writing.get();
    writing = std::async(std::launch::async, [&, buf, got, off] { WriteChunk(dst.get(), flags, direct, buf, got, off, shown); });
    off += static_cast<off_t>(got);
  }
  if (writing.valid()) writing.get();
  struct stat now;
  if (::fstat(f.src.get(), &now) != 0) throw SysError("stat", f.shown);
  if (!SameFile(now, f.src_st)) throw Error(f.shown + " changed while it was copied");
  if (direct && ::fcntl(dst.get(), F_SETFL, flags) != 0) throw SysError("fcntl", shown);
  // The writes moved the modification time the copy gave it (and the layer's header holds).
  struct timespec times[2] = {{0, UTIME_OMIT}, f.mtime};
  if (::futimens(dst.get(), times) != 0) throw SysError("set times of", shown);
  // Its bytes went around the page cache, its size and blocks are metadata: durable now, as the
  // rest of the step is by the time it returns.
  if (::fdatasync(dst.get()) != 0) throw SysError("sync", shown);
}

}  // namespace imgbuild::layers
