#include "cache/input_digest.h"

#include <fcntl.h>
#include <sys/xattr.h>

#include <map>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <atomic>
#include <chrono>
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
  for (const auto& [name, value] : layers::ListXattrs(path)) out.push_back(name + "=" + value);
  std::sort(out.begin(), out.end());  // "name=value" order, as keys have always had it
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

namespace {

// By path. A selection comes in walk order, mostly sorted already: checked in one pass first.
void SortByPath(std::vector<const InputFile*>& order) {
  auto less = [](const InputFile* a, const InputFile* b) { return a->path < b->path; };
  if (!std::is_sorted(order.begin(), order.end(), less)) std::sort(order.begin(), order.end(), less);
}

}  // namespace

InputDigest DigestInputs(std::vector<InputFile> all_files, FileDigestMemo& memo, unsigned threads) {
  // Sorted by path (through an index: the entries are big), duplicates once.
  std::vector<const InputFile*> order;
  order.reserve(all_files.size());
  for (const InputFile& f : all_files) order.push_back(&f);
  SortByPath(order);
  order.erase(std::unique(order.begin(), order.end(), [](const InputFile* a, const InputFile* b) { return a->path == b->path; }),
              order.end());
  struct View {
    const std::vector<const InputFile*>& v;
    size_t size() const { return v.size(); }
    const InputFile& operator[](size_t i) const { return *v[i]; }
  } files{order};
  std::vector<std::string> data(files.size());  // data digest of regular files
  std::vector<size_t> todo;
  for (size_t i = 0; i < files.size(); ++i) {
    if (!S_ISREG(files[i].st.st_mode)) continue;
    if (const char* d = memo.Find(FileIdentity::Of(files[i].st))) {
      data[i] = d;
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
  // One framed stream over every file's fields (as KeyBuilder frames them), and a short
  // non-cryptographic digest per file for explanations.
  KeyBuilder all("inputs");
  std::string entry;
  // Files hard-linked to an earlier one of the selection say so: the copy links them too.
  std::map<std::pair<dev_t, ino_t>, std::string> first_link;
  for (size_t i = 0; i < files.size(); ++i) {
    const InputFile& f = files[i];
    const struct stat& st = f.st;
    char type = S_ISDIR(st.st_mode) ? 'd' : S_ISLNK(st.st_mode) ? 'l' : S_ISREG(st.st_mode) ? 'f' : 'o';
    entry.clear();
    auto field = [&entry](std::string_view name, std::string_view value) {
      char len[48];
      int len_n = std::snprintf(len, sizeof len, "%zu:%.*s%zu:", name.size(), static_cast<int>(name.size()),
                                name.data(), value.size());
      entry.append(len, static_cast<size_t>(len_n));
      entry.append(value);
    };
    char meta[64];
    int meta_len = std::snprintf(meta, sizeof meta, "%c %o %u:%u", type, static_cast<unsigned>(st.st_mode & 07777),
                                 static_cast<unsigned>(st.st_uid), static_cast<unsigned>(st.st_gid));
    field("meta", std::string_view(meta, static_cast<size_t>(meta_len)));
    if (S_ISLNK(st.st_mode)) field("link", layers::ReadLink(f.source));
    if (S_ISREG(st.st_mode)) {
      field("data", data[i]);
      if (st.st_nlink > 1) {
        auto [it, first] = first_link.emplace(std::make_pair(st.st_dev, st.st_ino), f.path);
        if (!first) field("hardlink", it->second);
      }
    } else {
      for (const std::string& x : Xattrs(f.source)) field("xattr", x);
      if (!S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode)) field("rdev", std::to_string(st.st_rdev));
    }
    all.Field("path", f.path).Field("entry", entry);
    uint64_t h = 1469598103934665603ull;  // FNV-1a
    for (unsigned char c : entry) h = (h ^ c) * 1099511628211ull;
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
    out.files.emplace_back(f.path, hex);
  }
  out.digest = all.Build().digest();
  return out;
}

std::vector<std::pair<std::string, std::string>> LoadInputFiles(const std::string& path) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string text;
  try {
    text = layers::ReadFile(path);
  } catch (const layers::SysError&) {
    return out;
  }
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) break;
    if (nl - pos > 17) out.emplace_back(text.substr(pos + 17, nl - pos - 17), text.substr(pos, 16));
    pos = nl + 1;
  }
  return out;
}

std::string InputsFingerprint(const std::vector<InputFile>& files, int64_t settle_ns) {
  std::vector<const InputFile*> order;
  order.reserve(files.size());
  for (const InputFile& f : files) order.push_back(&f);
  SortByPath(order);
  auto now = std::chrono::system_clock::now().time_since_epoch();
  const int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now).count();
  layers::Sha256 h;
  h.Update("imgbuild/inputs-fingerprint/v3\n");
  // Which files are one inode (what a fresh file's own line cannot show by its stat data).
  std::map<std::pair<dev_t, ino_t>, const std::string*> first_link;
  for (const InputFile* f : order) {
    if (S_ISREG(f->st.st_mode) && f->st.st_nlink > 1) first_link.emplace(std::make_pair(f->st.st_dev, f->st.st_ino), &f->path);
  }
  int fresh = 0;
  for (const InputFile* f : order) {
    FileIdentity id = FileIdentity::Of(f->st);
    const int64_t settle = SettleNs(id, settle_ns);
    if (now_ns - id.ctime_ns < settle || now_ns - id.mtime_ns < settle) {
      // Just changed: its stat data may not show a change made in the same timestamp tick.
      if (++fresh > 256) return "";
      std::string what = "fresh\n" + f->path + "\n" + std::to_string(f->st.st_mode) + " " +
                         std::to_string(f->st.st_uid) + ":" + std::to_string(f->st.st_gid) + "\n";
      if (S_ISREG(f->st.st_mode)) {
        what += DataDigest(f->source).str();
        if (f->st.st_nlink > 1) what += "\nlinked with " + *first_link.at({f->st.st_dev, f->st.st_ino});
      } else {
        if (S_ISLNK(f->st.st_mode)) what += layers::ReadLink(f->source);
        for (const std::string& x : Xattrs(f->source)) what += "\n" + x;
      }
      uint64_t len = what.size();
      h.Update(std::string_view(reinterpret_cast<const char*>(&len), sizeof len));
      h.Update(what);
      continue;
    }
    uint64_t fields[8] = {id.dev, id.ino, static_cast<uint64_t>(id.size), static_cast<uint64_t>(id.mtime_ns),
                          static_cast<uint64_t>(id.ctime_ns), f->st.st_mode, f->st.st_uid, f->st.st_gid};
    uint64_t len = f->path.size();
    h.Update(std::string_view(reinterpret_cast<const char*>(&len), sizeof len));
    h.Update(f->path);
    h.Update(std::string_view(reinterpret_cast<const char*>(fields), sizeof fields));
  }
  return std::string(h.Finish().hex());
}

}  // namespace imgbuild::cache
