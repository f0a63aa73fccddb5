// A portable build cache for CI runners: `--cache-to type=local,dest=DIR[,mode=min|max]` writes the
// records a build used (min: the steps of the final image's stages; max: every stage's) and their
// layers as an OCI image layout (one artifact manifest tagged "cache": its config lists the
// records, its layers are their layer blobs); `--cache-from type=local,src=DIR` reads one. An
// imported record is turned into a local one when a step needs it: its layer is checked and
// unpacked onto the stage's snapshot, so nothing runs.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cache/cache_index.h"
#include "layers/content_store.h"
#include "layers/oci_layout.h"

namespace imgbuild::builder {

inline constexpr const char* kCacheArtifactType = "application/vnd.imgbuild.cache.v1+json";

struct CacheTransferSpec {
  std::string type;  // "local" or "registry"
  std::string dir;   // local: dest= or src=
  std::string ref;   // registry: ref=
  bool max = false;  // mode=max
};

// type=registry: the local layout `dir` (written by ExportCache) pushed as `ref`, and `ref`
// fetched into `dir` (which ImportedCache then reads).
void PushCache(const std::string& dir, const std::string& tmp, const std::string& ref, bool tls_verify);
void FetchCache(const std::string& ref, const std::string& dir, const std::string& tmp, bool tls_verify);

// "type=local,dest=DIR,mode=max" / "type=registry,ref=REF,mode=max" (export) or
// "type=local,src=DIR" / "type=registry,ref=REF" (import); throws std::invalid_argument.
CacheTransferSpec ParseCacheSpec(const std::string& text, bool for_export);

// Writes `records` and their layer blobs (read from `from`) into the OCI layout at `dir`.
void ExportCache(const std::string& dir, const std::string& tmp, const std::vector<cache::CacheRecord>& records,
                 layers::ContentStore& from);

// The records of a cache written by ExportCache (empty when `dir` has none).
class ImportedCache {
 public:
  ImportedCache(const std::string& dir, const std::string& tmp);
  const cache::CacheRecord* Find(const std::string& key) const;
  // Copies a record's layer blob into `to` (verifying its digest) unless it is there already.
  void FetchLayer(const cache::CacheRecord& r, layers::ContentStore& to) const;
  size_t size() const { return records_.size(); }

 private:
  std::unique_ptr<layers::OciLayout> layout_;
  std::map<std::string, cache::CacheRecord> records_;
};

}  // namespace imgbuild::builder
