#include "builder/solver/step_cache.h"

#include <fcntl.h>
#include <sys/file.h>

#include <chrono>
#include <cstdio>
#include <set>

#include "builder/ops/metadata_op.h"
#include "builder/snapshot/active_snapshot.h"

namespace imgbuild::builder {

StepCache::StepCache(BuildEnv& env)
    : env_(env),
      index_(env.state.cache_index(env.snaps->kind())),
      inputs_(env.state.cache_index(env.snaps->kind())) {
  std::string lock = env.state.cache_index(env.snaps->kind()) + "/lock";
  lock_ = layers::UniqueFd(::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock_) throw layers::SysError("open", lock);
  while (::flock(lock_.get(), LOCK_SH) != 0) {
    if (errno != EINTR) throw layers::SysError("flock", lock);
  }
  for (const cache::CacheTransferSpec& c : env.req.cache_from) {
    std::string where = c.type == "registry" ? c.ref : c.dir;
    try {
      imported_.push_back(std::make_unique<cache::ImportedCache>(c, env.ws.NewDir("cache-from-"), env.req.tls_verify));
    } catch (const std::exception& e) {
      throw BuildError("--cache-from " + where + ": " + e.what());
    }
    notes_.push_back("--cache-from " + where + ": " + std::to_string(imported_.back()->size()) +
                     " records; layers are fetched as steps use them");
  }
}

std::optional<cache::CacheRecord> StepCache::Find(const cache::CacheKey& key) {
  return index_.Find(key, [&](const cache::CacheRecord& r) {
    if (!r.layer) return true;
    return !r.snapshot.empty() && env_.snaps->Exists(r.snapshot) && env_.store.store().Has(r.layer->digest);
  });
}

std::string StepCache::Explain(const StepKey& now, const std::optional<cache::CacheKey>& parent,
                               const std::string& kind) {
  std::string best;
  if (!parent) return best;
  size_t best_len = 0;
  for (const cache::CacheRecord& r : index_.Children(*parent)) {
    if (r.kind != kind) continue;
    std::string why = ExplainMiss(now, r.fields, r.files);
    // The nearest record is the one with the fewest differences.
    size_t len = static_cast<size_t>(std::count(why.begin(), why.end(), ';'));
    if (best.empty() || len < best_len) {
      best = why;
      best_len = len;
    }
  }
  return best;
}

cache::InputDigest StepCache::Digest(std::vector<cache::InputFile> files, unsigned threads) {
  return inputs_.Digest(std::move(files), threads);
}

std::optional<cache::CacheRecord> StepCache::Lookup(const cache::CacheKey& key, const StageImage& img) {
  if (std::optional<cache::CacheRecord> r = Find(key)) return r;
  for (const auto& imported : imported_) {
    const cache::CacheRecord* found = imported->Find(key);
    if (!found) continue;
    cache::CacheRecord r = *found;
    if (r.layer) {
      if (r.layer->media_type != layers::media_type::kLayer || !r.diff_id || r.layer->digest != *r.diff_id) continue;
      auto t0 = std::chrono::steady_clock::now();
      int64_t bytes = imported->FetchLayer(r, env_.store.store(), env_.state.compressed());
      if (bytes > 0) {
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        char text[160];
        std::snprintf(text, sizeof text, "fetched cache layer %.19s (%.1f MB) in %.1fs", r.diff_id->str().c_str(),
                      static_cast<double>(bytes) / 1e6, secs);
        env_.Report([&](Status& s) { s.Info(text); });
      }
      ActiveSnapshot active(*env_.snaps, env_.NewKey("import"), img.snapshot);
      r.snapshot = CachedSnapshotName(key, env_.ws.name(), env_.ws.Next());
      active.Apply(env_.store.store().BlobPath(r.layer->digest), *r.diff_id);
      if (!active.Commit(r.snapshot)) throw BuildError("snapshot " + r.snapshot + " exists already");
    }
    Put(r);
    return r;
  }
  return std::nullopt;
}

void StepCache::Record(const frontend::PlannedStep& step, const StepKey& key, const StageMark& before,
                       const StageImage& after) {
  cache::CacheRecord r;
  r.key = key.key;
  r.parent = before.key;
  r.kind = step.keyword;
  r.label = step.keyword + (step.words.empty() ? "" : " " + Join(step.words));
  if (after.config.history.size() > before.history) {
    const layers::HistoryEntry& h = after.config.history.back();
    r.created = h.created;
    r.created_by = h.created_by;
    r.empty_layer = h.empty_layer;
  } else {
    r.created = env_.created;
  }
  if (after.layers.size() > before.layers) {
    r.layer = after.layers.back();
    r.diff_id = after.config.diff_ids.back();
    r.snapshot = after.snapshot;
  }
  r.fields = key.fields;
  r.files = key.files;
  if (r.files.empty() && !key.files_path.empty()) r.files = cache::LoadInputFiles(key.files_path);
  try {
    Put(r);
  } catch (const std::exception& e) {
    env_.Report([&](Status& s) { s.Warning(std::string("step not recorded in the build cache: ") + e.what()); });
  }
}

void StepCache::Used(int stage, const cache::CacheKey& key) {
  std::lock_guard<std::mutex> lock(used_mu_);
  used_keys_[stage].push_back(key);
}

void StepCache::ExportTo(const cache::CacheTransferSpec& spec) {
  std::vector<cache::CacheRecord> records = RecordsFor(spec);
  std::string where = spec.type == "registry" ? spec.ref : spec.dir;
  try {
    cache::CacheLayerOptions o;
    o.compression = env_.req.export_compression;
    o.memo_dir = env_.state.compressed();
    cache::ExportCache(spec, env_.ws.NewDir("cache-to-"), records, env_.store.store(), o, env_.req.tls_verify);
  } catch (const std::exception& e) {
    throw BuildError("--cache-to " + where + ": " + e.what());
  }
  env_.Report([&](Status& s) { s.Info("exported " + std::to_string(records.size()) + " cache records to " + where); });
}

std::vector<cache::CacheRecord> StepCache::RecordsFor(const cache::CacheTransferSpec& spec) {
  const frontend::Plan& plan = env_.plan;
  std::set<int> stages;
  if (spec.max) {
    stages.insert(plan.order.begin(), plan.order.end());
  } else {
    for (int s = plan.target;;) {
      stages.insert(s);
      if (plan.stages[s].base.kind != frontend::BaseRef::kStage) break;
      s = plan.stages[s].base.stage;
    }
  }
  std::vector<cache::CacheRecord> records;
  for (int s : stages) {
    for (const cache::CacheKey& key : used_keys_[s]) {
      if (std::optional<cache::CacheRecord> r = Find(key)) records.push_back(std::move(*r));
    }
  }
  return records;
}

}  // namespace imgbuild::builder
