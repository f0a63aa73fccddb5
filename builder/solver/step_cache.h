// The build cache as a build uses it: the cache index and the file-digest memo of a state dir
// (ROOT/cache/v1, one index per snapshotter kind), a shared lock held while the build runs (so
// that `imgbuild prune` never removes what a running build uses), lookups that only return
// records whose snapshot and layer blob are present (else an imported record from --cache-from,
// its layer fetched and unpacked then), records of the steps that ran, the keys each stage used
// (for --cache-to) and explanations of misses.
#pragma once

#include <optional>
#include <string>

#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "builder/snapshot/snapshotter.h"
#include "builder/solver/build_env.h"
#include "builder/solver/stage_state.h"
#include "builder/solver/step_keys.h"
#include "cache/transfer.h"
#include "cache/cache_index.h"
#include "cache/input_digester.h"
#include "layers/content_store.h"
#include "layers/sys_error.h"

namespace imgbuild::builder {

// What Record needs of the stage before a step (not a copy of its image: a copy per step makes
// N metadata steps cost N^2).
struct StageMark {
  decltype(StageImage::key) key;
  size_t history = 0, layers = 0;
  static StageMark Of(const StageImage& img) { return {img.key, img.config.history.size(), img.layers.size()}; }
};

class StepCache {
 public:
  // The index of the build's snapshotter kind; the --cache-from caches opened (their records
  // read, no layer yet).
  explicit StepCache(BuildEnv& env);

  std::optional<cache::CacheRecord> Find(const cache::CacheKey& key);
  void Put(const cache::CacheRecord& r) { index_.Put(r); }
  // A record for `key`: the local cache's, or an imported one made local (its layer fetched,
  // verified and unpacked onto `img`'s snapshot).
  std::optional<cache::CacheRecord> Lookup(const cache::CacheKey& key, const StageImage& img);
  // Records what `step` (keyed `key`) did: the stage was at `before`, it is at `after` now. A
  // failure to record only warns.
  void Record(const frontend::PlannedStep& step, const StepKey& key, const StageMark& before,
              const StageImage& after);
  // The keys stage `stage` used, and --cache-to of the stages that `spec` asks for.
  void Used(int stage, const cache::CacheKey& key);
  void ExportTo(const cache::CacheTransferSpec& spec);
  // The records ExportTo(spec) writes (one platform's share of a multi-platform build's cache).
  std::vector<cache::CacheRecord> RecordsFor(const cache::CacheTransferSpec& spec);
  // What --cache-from said when opened ("N records; ...").
  const std::vector<std::string>& notes() const { return notes_; }
  // Why `now` (a step of kind `kind` after `parent`) missed, or "" when nothing earlier compares.
  std::string Explain(const StepKey& now, const std::optional<cache::CacheKey>& parent, const std::string& kind);
  cache::InputDigest Digest(std::vector<cache::InputFile> files, unsigned threads);
  void Flush() { inputs_.Flush(); }

 private:
  BuildEnv& env_;
  layers::UniqueFd lock_;
  cache::CacheIndex index_;
  cache::InputDigester inputs_;
  std::vector<std::unique_ptr<cache::ImportedCache>> imported_;
  std::vector<std::string> notes_;
  std::mutex used_mu_;
  std::map<int, std::vector<cache::CacheKey>> used_keys_;  // per stage, in order
};

}  // namespace imgbuild::builder
