#include "cache/input_digest.h"

#include <fcntl.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>

#include "cache/cache_key.h"
#include "layers/sys_error.h"

namespace imgbuild::cache {
namespace {

using layers::Digest;

// Extended attributes, sorted, as "name=value" lines.
std::vector<std::string> Xattrs(const std::string& path) {
  std::vector<std::string> out;
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
    out.push_back(n + "=" + v.substr(0, static_cast<size_t>(std::max<ssize_t>(vlen, 0))));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// A regular file's bytes and extended attributes.
Digest DataDigest(const std::string& path) {
  layers::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) throw layers::SysError("open", path);
  layers::Sha256 h;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw layers::SysError("read", path);
    if (n == 0) break;
    h.Update(std::string_view(buf, static_cast<size_t>(n)));
  }
  return KeyBuilder("file-data").Field("bytes", h.Finish().str()).Field("xattrs", Xattrs(path)).Build().digest();
}

}  // namespace

InputDigest DigestInputs(std::vector<InputFile> files, FileDigestMemo& memo, unsigned threads) {
  std::sort(files.begin(), files.end(), [](const InputFile& a, const InputFile& b) { return a.path < b.path; });
  files.erase(std::unique(files.begin(), files.end(), [](const InputFile& a, const InputFile& b) { return a.path == b.path; }),
              files.end());
  std::vector<std::string> data(files.size());  // data digest of regular files
  std::vector<size_t> todo;
  for (size_t i = 0; i < files.size(); ++i) {
    if (!S_ISREG(files[i].st.st_mode)) continue;
    if (auto d = memo.Find(FileIdentity::Of(files[i].st))) {
      data[i] = d->str();
    } else {
      todo.push_back(i);
    }
  }
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mu;
  auto work = [&] {
    for (size_t k; (k = next++) < todo.size();) {
      const InputFile& f = files[todo[k]];
      try {
        Digest d = DataDigest(f.source);
        data[todo[k]] = d.str();
        memo.Add(FileIdentity::Of(f.st), d);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mu);
        if (!error) error = std::current_exception();
      }
    }
  };
  unsigned n = std::max(1u, std::min<unsigned>(threads, static_cast<unsigned>(todo.size() / 8 + 1)));
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < n; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  if (error) std::rethrow_exception(error);

  InputDigest out;
  out.hashed = todo.size();
  KeyBuilder all("inputs");
  for (size_t i = 0; i < files.size(); ++i) {
    const InputFile& f = files[i];
    const struct stat& st = f.st;
    char type = S_ISDIR(st.st_mode) ? 'd' : S_ISLNK(st.st_mode) ? 'l' : S_ISREG(st.st_mode) ? 'f' : 'o';
    KeyBuilder e("input-file");
    e.Field("path", f.path).Field("type", std::string(1, type)).Field("mode", std::to_string(st.st_mode & 07777));
    e.Field("owner", std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid));
    if (S_ISLNK(st.st_mode)) e.Field("link", layers::ReadLink(f.source));
    if (S_ISREG(st.st_mode)) {
      e.Field("data", data[i]);
    } else {
      e.Field("xattrs", Xattrs(f.source));
      if (!S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode)) e.Field("rdev", std::to_string(st.st_rdev));
    }
    Digest d = e.Build().digest();
    all.Field("file", d.str());
    out.files.emplace_back(f.path, std::string(d.hex().substr(0, 16)));
  }
  out.digest = all.Build().digest();
  return out;
}

}  // namespace imgbuild::cache
