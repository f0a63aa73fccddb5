// The cache index: what each step's cache key produced (its history entry, its layer and the
// committed snapshot holding its files), so a later build reuses it instead of running the step.
// One JSON file per record under DIR/records, written by temp + fsync + rename: a record is
// there whole or not at all, several processes may write at once, and a crash never leaves a
// torn one. Records name their parent key (DIR/children/PARENT/KEY) so that a miss can be
// explained against its nearest earlier sibling. A record is returned only if the caller's
// check says its snapshot and blobs are all there; one that fails the check is dropped.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cache/cache_key.h"
#include "layers/descriptor.h"

namespace imgbuild::cache {

struct CacheRecord {
  CacheKey key{layers::Digest::OfBytes("")};
  std::optional<CacheKey> parent;  // the previous step's key (none for a stage's base)
  std::string kind;    // instruction keyword
  std::string label;   // "COPY src/ /app/", for explanations
  // The history entry the step added.
  std::string created, created_by;
  bool empty_layer = true;
  std::optional<layers::Descriptor> layer;  // blob in the local store
  std::optional<layers::Digest> diff_id;  // of `layer` (its uncompressed digest)
  std::string snapshot;  // committed snapshot with the step's files ("" for config-only steps)
  // The key's fields as shown to people (name, value), and the input files' digests.
  std::vector<std::pair<std::string, std::string>> fields;
  std::vector<std::pair<std::string, std::string>> files;  // loaded by Children() only
  int64_t last_used = 0;  // seconds since the epoch (the record file's mtime)
  int64_t size = 0;       // bytes of the record file
};

// The portable part of a record (no snapshot, no files, no version) as JSON, shared by the index
// and cache exports; RecordFromJson checks the key and diff_id forms and throws when malformed.
nlohmann::ordered_json RecordToJson(const CacheRecord& r);
CacheRecord RecordFromJson(const nlohmann::json& j);

class CacheIndex {
 public:
  explicit CacheIndex(std::string dir);

  std::optional<CacheRecord> Find(const CacheKey& key, const std::function<bool(const CacheRecord&)>& usable);
  void Put(const CacheRecord& r);  // throws SysError
  std::vector<CacheRecord> Children(const CacheKey& parent);
  std::vector<CacheRecord> All();
  void Remove(const CacheKey& key) noexcept;
  const std::string& dir() const { return dir_; }

 private:
  std::optional<CacheRecord> Read(const CacheKey& key);
  std::string RecordPath(const CacheKey& key) const;
  std::string FilesPath(const CacheKey& key) const;
  std::string dir_;
};

}  // namespace imgbuild::cache
