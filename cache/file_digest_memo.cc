#include "cache/file_digest_memo.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>

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

std::string FileIdentity::Key() const {
  char buf[128];
  std::snprintf(buf, sizeof buf, "%llx:%llx:%llx:%llx:%llx", static_cast<unsigned long long>(dev),
                static_cast<unsigned long long>(ino), static_cast<unsigned long long>(size),
                static_cast<unsigned long long>(mtime_ns), static_cast<unsigned long long>(ctime_ns));
  return buf;
}

FileDigestMemo::FileDigestMemo(std::string path, int64_t settle_ns) : path_(std::move(path)), settle_ns_(settle_ns) {
  if (path_.empty()) return;
  std::string text;
  try {
    text = layers::ReadFile(path_);
  } catch (const layers::SysError&) {
    return;  // no memo yet
  }
  if (text.rfind(kHeader, 0) != 0) return;  // another version: start over
  size_t pos = std::string(kHeader).size();
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) break;  // a torn last line
    std::string_view line(text.data() + pos, nl - pos);
    size_t sp = line.find(' ');
    if (sp != std::string_view::npos && line.size() - sp - 1 == 64) {
      entries_[std::string(line.substr(0, sp))] = std::string(line.substr(sp + 1));
      ++log_lines_;
    }
    pos = nl + 1;
  }
}

std::optional<layers::Digest> FileDigestMemo::Find(const FileIdentity& id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(id.Key());
  if (it == entries_.end()) return std::nullopt;
  return layers::Digest::Parse("sha256:" + it->second);
}

void FileDigestMemo::Add(const FileIdentity& id, const layers::Digest& d) {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now).count();
  if (now_ns - id.ctime_ns < settle_ns_ || now_ns - id.mtime_ns < settle_ns_) return;
  std::string key = id.Key();
  std::string hex(d.hex());
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, added] = entries_.emplace(key, hex);
  if (!added && it->second == hex) return;
  it->second = hex;
  pending_.push_back(key + " " + hex + "\n");
}

void FileDigestMemo::Flush() {
  std::lock_guard<std::mutex> lock(mu_);
  if (path_.empty() || pending_.empty()) return;
  if (log_lines_ + pending_.size() > 2 * entries_.size() + 1024) {
    // Mostly stale lines: rewrite the memo from what is live.
    std::string all = kHeader;
    for (const auto& [k, v] : entries_) all += k + " " + v + "\n";
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
