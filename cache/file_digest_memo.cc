#include "cache/file_digest_memo.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "layers/sys_error.h"

namespace imgbuild::cache {
namespace {

constexpr const char* kHeader = "imgbuild file digests v1\n";

int64_t Ns(const struct timespec& t) { return static_cast<int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec; }

}  // namespace

FileIdentity FileIdentity::Of(const struct stat& st) {
  return {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino), static_cast<int64_t>(st.st_size),
          Ns(st.st_mtim), Ns(st.st_ctim)};
}

namespace {

// "dev:ino:size:mtime:ctime" in hex.
std::string Line(const FileIdentity& f, std::string_view hex) {
  char buf[160];
  int n = std::snprintf(buf, sizeof buf, "%llx:%llx:%llx:%llx:%llx %.*s\n", static_cast<unsigned long long>(f.dev),
                        static_cast<unsigned long long>(f.ino), static_cast<unsigned long long>(f.size),
                        static_cast<unsigned long long>(f.mtime_ns), static_cast<unsigned long long>(f.ctime_ns),
                        static_cast<int>(hex.size()), hex.data());
  return std::string(buf, static_cast<size_t>(n));
}

bool ParseLine(std::string_view line, FileIdentity& f, std::string_view& hex) {
  uint64_t v[5];
  const char* p = line.data();
  const char* end = p + line.size();
  for (int i = 0; i < 5; ++i) {
    char* stop = nullptr;
    v[i] = std::strtoull(p, &stop, 16);
    if (stop == p || stop >= end || *stop != (i < 4 ? ':' : ' ')) return false;
    p = stop + 1;
  }
  hex = std::string_view(p, static_cast<size_t>(end - p));
  if (hex.size() != 64) return false;
  f = {v[0], v[1], static_cast<int64_t>(v[2]), static_cast<int64_t>(v[3]), static_cast<int64_t>(v[4])};
  return true;
}

}  // namespace

FileDigestMemo::FileDigestMemo(std::string path, int64_t settle_ns)
    : path_(std::move(path)), settle_ns_(settle_ns) {}

void FileDigestMemo::Load() const {
  std::call_once(load_once_, [this] { LoadLocked(); });
}

void FileDigestMemo::LoadLocked() const {
  if (path_.empty()) return;
  std::string text;
  try {
    text = layers::ReadFile(path_);
  } catch (const layers::SysError&) {
    return;  // no memo yet
  }
  if (text.rfind(kHeader, 0) != 0) return;  // another version: start over
  entries_.reserve(text.size() / 100 + 16);
  size_t pos = std::string(kHeader).size();
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) break;  // a torn last line
    std::string_view line(text.data() + pos, nl - pos);
    FileIdentity id;
    std::string_view hex;
    if (ParseLine(line, id, hex)) {
      Text& t = entries_[id];
      std::memcpy(t.s, "sha256:", 7);
      std::memcpy(t.s + 7, hex.data(), 64);
      t.s[71] = '\0';
      ++log_lines_;
    }
    pos = nl + 1;
  }
}

const char* FileDigestMemo::Find(const FileIdentity& id) const {
  Load();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : it->second.s;
}

void FileDigestMemo::Add(const FileIdentity& id, const layers::Digest& d) {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now).count();
  const int64_t settle = SettleNs(id, settle_ns_);
  if (now_ns - id.ctime_ns < settle || now_ns - id.mtime_ns < settle) return;
  Load();
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, added] = entries_.try_emplace(id);
  if (!added && d.str() == it->second.s) return;
  std::memcpy(it->second.s, d.str().c_str(), 72);
  pending_.push_back(Line(id, d.hex()));
}

void FileDigestMemo::Flush() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (pending_.empty()) return;  // nothing added (and maybe never loaded)
  }
  Load();
  std::lock_guard<std::mutex> lock(mu_);
  if (path_.empty() || pending_.empty()) return;
  if (log_lines_ + pending_.size() > 2 * entries_.size() + 1024) {
    // Mostly stale lines: rewrite the memo from what is live.
    std::string all = kHeader;
    for (const auto& [k, v] : entries_) all += Line(k, std::string_view(v.s + 7, 64));
    layers::WriteFileAtomic(path_, all);
    log_lines_ = entries_.size();
    pending_.clear();
    return;
  }
  layers::UniqueFd fd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!fd) throw layers::SysError("open", path_);
  struct stat st;
  std::string text;
  if (::fstat(fd.get(), &st) == 0 && st.st_size == 0) text = kHeader;
  for (const std::string& l : pending_) text += l;
  layers::WriteAll(fd.get(), text.data(), text.size(), path_);
  log_lines_ += pending_.size();
  pending_.clear();
}

}  // namespace imgbuild::cache
