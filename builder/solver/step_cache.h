// The build cache as a build uses it: the cache index and the file-digest memo of a state dir
// (ROOT/cache/v1, one index per snapshotter kind), a shared lock held while the build runs (so
// that `imgbuild prune` never removes what a running build uses), lookups that only return
// records whose snapshot and layer blob are present, and explanations of misses.
#pragma once

#include <optional>
#include <string>

#include "builder/snapshot/snapshotter.h"
#include "builder/solver/step_keys.h"
#include "cache/cache_index.h"
#include "cache/file_digest_memo.h"
#include "layers/content_store.h"
#include "layers/sys_error.h"

namespace imgbuild::builder {

class StepCache {
 public:
  // `index_dir`: StateDir::cache_index() of the snapshotter's kind.
  StepCache(const std::string& index_dir, Snapshotter& snaps, layers::ContentStore& store);

  std::optional<cache::CacheRecord> Find(const std::string& key);
  void Put(const cache::CacheRecord& r) { index_.Put(r); }
  // Why `now` (a step of kind `kind` after `parent`) missed, or "" when nothing earlier compares.
  std::string Explain(const StepKey& now, const std::string& parent, const std::string& kind);
  cache::InputDigest Digest(std::vector<cache::InputFile> files, unsigned threads);
  void Flush() { memo_.Flush(); }

 private:
  layers::UniqueFd lock_;
  cache::CacheIndex index_;
  cache::FileDigestMemo memo_;
  Snapshotter& snaps_;
  layers::ContentStore& store_;
};

}  // namespace imgbuild::builder
