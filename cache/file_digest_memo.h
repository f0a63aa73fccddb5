// Content digests of build-context files remembered on disk by (device, inode, size, mtime,
// ctime): an unchanged file costs one stat. Anything that changes a file's bytes or extended
// attributes changes its ctime, so a stale entry is never found. Entries for files changed in
// the last seconds are not kept (a change within the same timestamp tick would go unseen).
//
// The memo is an append-only log of fixed-format lines (a torn last line is ignored), rewritten
// compactly when it holds many more lines than live entries. Several processes may append at
// once: each appends whole lines with one O_APPEND write.
#pragma once

#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "layers/digest.h"

namespace imgbuild::cache {

struct FileIdentity {
  uint64_t dev = 0, ino = 0;
  int64_t size = 0, mtime_ns = 0, ctime_ns = 0;
  static FileIdentity Of(const struct stat& st);
  friend bool operator==(const FileIdentity&, const FileIdentity&) = default;
};

// How long after its last change a file's stat data can be trusted to show the next change:
// a change in the same timestamp tick as the one before keeps the same ctime. A ctime with a
// sub-second part comes from a filesystem with fine timestamps (ext4, xfs, btrfs, tmpfs,
// overlayfs: ticks of at most 10 ms, a jiffy at HZ=100; multigrain timestamps since Linux 6.13
// make a change after a stat always show), so 20 ms there; whole seconds (FAT, some network
// filesystems) get `coarse_ns`.
inline constexpr int64_t kFineSettleNs = 20'000'000;
inline int64_t SettleNs(const FileIdentity& id, int64_t coarse_ns) {
  return id.ctime_ns % 1'000'000'000 != 0 ? std::min<int64_t>(coarse_ns, kFineSettleNs) : coarse_ns;
}

struct FileIdentityHash {
  size_t operator()(const FileIdentity& f) const noexcept {
    uint64_t h = f.ino * 0x9E3779B97F4A7C15ull ^ f.dev;
    h ^= static_cast<uint64_t>(f.size) + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    h ^= static_cast<uint64_t>(f.mtime_ns) + (h << 6) + (h >> 2);
    h ^= static_cast<uint64_t>(f.ctime_ns) + (h << 6) + (h >> 2);
    return static_cast<size_t>(h);
  }
};

class FileDigestMemo {
 public:
  // `path` is the log file (created when missing); empty for a memo that only lives in memory.
  // Files changed less than SettleNs(id, settle_ns) ago are not remembered (timestamps are
  // coarser than the time between a hash and a change).
  explicit FileDigestMemo(std::string path, int64_t settle_ns = 2'000'000'000);

  // The remembered digest ("sha256:...", NUL-terminated), or null. Valid while the memo lives.
  const char* Find(const FileIdentity& id) const;
  void Add(const FileIdentity& id, const layers::Digest& d);  // thread-safe
  // Appends what was added (and compacts the log when it is mostly stale). Throws SysError.
  void Flush();
  size_t size() const {
    Load();
    return entries_.size();
  }
  int64_t settle_ns() const { return settle_ns_; }

 private:
  void Load() const;  // reads the log on first use (a fully cached build never needs it)
  void LoadLocked() const;
  mutable std::once_flag load_once_;

  std::string path_;
  mutable std::mutex mu_;
  struct Text {
    char s[72];  // "sha256:" + 64 hex + NUL
  };
  mutable std::unordered_map<FileIdentity, Text, FileIdentityHash> entries_;
  std::vector<std::string> pending_;                     // lines to append
  mutable size_t log_lines_ = 0;
  int64_t settle_ns_;
};

}  // namespace imgbuild::cache
