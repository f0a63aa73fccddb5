// A portable build cache for CI runners: `--cache-to type=local,dest=DIR[,mode=min|max]` writes the
// records a build used (min: the steps of the final image's stages; max: every stage's) and their
// layers, compressed, as an OCI image layout (one artifact manifest tagged "cache": its config
// lists the records, each with its compressed blob and diff_id; its layers are those blobs);
// `type=registry,ref=REF` pushes the same artifact. `--cache-from` reads one. An imported record
// is turned into a local one when a step needs it: only then is its layer fetched, checked
// against its diff_id and unpacked onto the stage's snapshot, so nothing runs.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cache/cache_index.h"
#include "layers/content_store.h"
#include "layers/layer_writer.h"
#include "layers/oci_layout.h"

namespace imgbuild::cache {

inline constexpr const char* kCacheArtifactType = "application/vnd.imgbuild.cache.v1+json";

struct CacheTransferSpec {
  std::string type;  // "local" or "registry"
  std::string dir;   // local: dest= or src=
  std::string ref;   // registry: ref=
  bool max = false;  // mode=max
};

// How layers travel in a cache: compressed as exports and pushes compress them (the same blobs,
// so a cache pushed beside its image uploads no layer twice), remembered in `memo_dir`.
struct CacheLayerOptions {
  layers::LayerOptions compression;  // gzip unless the build says otherwise
  std::string memo_dir;              // ROOT/compressed
};

// Writes `records` and their compressed layers (from `from`) as the OCI layout `dir` (local),
// or pushes them as `ref` straight from `from` (registry).
void ExportCache(const CacheTransferSpec& spec, const std::string& tmp, const std::vector<CacheRecord>& records,
                 layers::ContentStore& from, const CacheLayerOptions& options, bool tls_verify);

// The records of a cache written by ExportCache. A registry cache is read lazily: the manifest
// and the record list when it is opened, a layer only when a step uses its record.
class ImportedCache {
 public:
  // An empty cache when `spec` names none yet (a first run of the CI job).
  ImportedCache(const CacheTransferSpec& spec, const std::string& tmp, bool tls_verify);
  ~ImportedCache();
  const CacheRecord* Find(const CacheKey& key) const;
  // Makes the record's uncompressed layer present in `to` (fetching and decompressing its blob,
  // verified against the diff_id). Returns the bytes fetched (0 when the store had it).
  int64_t FetchLayer(const CacheRecord& r, layers::ContentStore& to, const std::string& memo_dir) const;
  size_t size() const { return records_.size(); }

 private:
  struct Remote;
  std::unique_ptr<layers::OciLayout> layout_;  // type=local
  std::unique_ptr<Remote> remote_;             // type=registry
  std::map<CacheKey, CacheRecord> records_;
  std::map<CacheKey, layers::Descriptor> blobs_;  // key -> the blob that holds its layer
};

}  // namespace imgbuild::cache
