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
  std::string Key() const;
};

class FileDigestMemo {
 public:
  // `path` is the log file (created when missing); empty for a memo that only lives in memory.
  // Files changed less than `settle_ns` ago are not remembered (timestamps are coarser than the
  // time between a hash and a change).
  explicit FileDigestMemo(std::string path, int64_t settle_ns = 2'000'000'000);

  std::optional<layers::Digest> Find(const FileIdentity& id) const;
  void Add(const FileIdentity& id, const layers::Digest& d);  // thread-safe
  // Appends what was added (and compacts the log when it is mostly stale). Throws SysError.
  void Flush();
  size_t size() const { return entries_.size(); }

 private:
  std::string path_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::string> entries_;  // identity key -> digest hex
  std::vector<std::string> pending_;                     // lines to append
  size_t log_lines_ = 0;
  int64_t settle_ns_;
};

}  // namespace imgbuild::cache
