#include "builder/solver/step_cache.h"

#include <fcntl.h>
#include <sys/file.h>

namespace imgbuild::builder {

StepCache::StepCache(const std::string& index_dir, Snapshotter& snaps, layers::ContentStore& store)
    : index_(index_dir), memo_(index_dir + "/file-digests"), snaps_(snaps), store_(store) {
  std::string lock = index_dir + "/lock";
  lock_ = layers::UniqueFd(::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock_) throw layers::SysError("open", lock);
  while (::flock(lock_.get(), LOCK_SH) != 0) {
    if (errno != EINTR) throw layers::SysError("flock", lock);
  }
}

std::optional<cache::CacheRecord> StepCache::Find(const std::string& key) {
  return index_.Find(key, [&](const cache::CacheRecord& r) {
    if (!r.layer) return true;
    return !r.snapshot.empty() && snaps_.Exists(r.snapshot) && store_.Has(r.layer->digest);
  });
}

std::string StepCache::Explain(const StepKey& now, const std::string& parent, const std::string& kind) {
  std::string best;
  size_t best_len = 0;
  for (const cache::CacheRecord& r : index_.Children(parent)) {
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
  // Unchanged selections are found by their stat fingerprint: no per-file lookups at all.
  std::string fp = cache::InputsFingerprint(files, memo_.settle_ns());
  std::string base = index_.dir() + "/inputs/" + fp;
  if (!fp.empty()) {
    try {
      cache::InputDigest d;
      std::string text = layers::ReadFile(base + ".digest");
      d.digest = layers::Digest::Parse(text.substr(0, text.find('\n')));
      d.files_path = base + ".files";
      return d;
    } catch (const std::exception&) {
      // not seen before (or damaged): compute it
    }
  }
  cache::InputDigest d = cache::DigestInputs(std::move(files), memo_, threads);
  if (!fp.empty()) {
    try {
      layers::MakeDirs(index_.dir() + "/inputs");
      std::string list;
      for (const auto& [path, h] : d.files) list += h + " " + path + "\n";
      layers::WriteFileAtomic(base + ".files", list);  // first: a digest file never lacks its list
      layers::WriteFileAtomic(base + ".digest", d.digest.str() + "\n");
    } catch (const std::exception&) {
      // only a speed-up
    }
  }
  return d;
}

}  // namespace imgbuild::builder
