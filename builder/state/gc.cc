#include "builder/state/gc.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "builder/snapshot/snapshotter.h"
#include "builder/solver/step_cache.h"
#include "cache/cache_index.h"
#include "builder/state/state_dir.h"
#include "layers/oci_layout.h"

namespace imgbuild::builder {
namespace {

namespace fs = std::filesystem;
using layers::Digest;

layers::UniqueFd OpenLock(const std::string& root) {
  layers::MakeDirs(root);
  std::string path = StateDir(root).gc_lock();
  layers::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) throw layers::SysError("open", path);
  return fd;
}

bool Lock(int fd, int how) {
  while (::flock(fd, how) != 0) {
    if (errno == EWOULDBLOCK) return false;
    if (errno != EINTR) throw layers::SysError("flock", "gc.lock");
  }
  return true;
}

// Bytes a directory tree takes on disk (each inode once; with `shared`, once across every tree
// counted with it: incremental COPY's snapshots share the files they did not change).
int64_t DirBytes(const std::string& path, std::set<std::pair<dev_t, ino_t>>* shared = nullptr) {
  int64_t total = 0;
  std::set<std::pair<dev_t, ino_t>> own;
  std::set<std::pair<dev_t, ino_t>>& seen = shared ? *shared : own;
  std::error_code ec;
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return 0;
  for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (::lstat(it->path().c_str(), &st) == 0 && seen.insert({st.st_dev, st.st_ino}).second) {
      total += static_cast<int64_t>(st.st_blocks) * 512;
    }
  }
  return total;
}

// Every blob a tagged image needs.
std::set<std::string> ImageBlobs(layers::OciLayout& store) {
  std::set<std::string> out;
  std::function<void(const layers::Descriptor&)> add = [&](const layers::Descriptor& d) {
    if (!out.insert(d.digest.str()).second || !store.store().Has(d.digest)) return;
    if (d.media_type.find("manifest") == std::string::npos && d.media_type.find("index") == std::string::npos) return;
    try {
      auto j = nlohmann::json::parse(store.store().ReadBlob(d.digest));
      if (j.contains("config")) out.insert(j["config"].at("digest").get<std::string>());
      for (const auto& l : j.value("layers", nlohmann::json::array())) out.insert(l.at("digest").get<std::string>());
      for (const auto& m : j.value("manifests", nlohmann::json::array())) add(layers::Descriptor::FromJson(m));
    } catch (const std::exception&) {
      // not JSON we know: the blob itself is kept
    }
  };
  for (const layers::Descriptor& d : store.Manifests()) add(d);
  return out;
}

struct Kind {
  std::string name, snapshots, index;
};

std::vector<Kind> Kinds(const std::string& root) {
  std::vector<Kind> out;
  StateDir state(root);
  for (const char* k : {"overlay", "copy"}) {
    std::string snaps = state.snapshots(k);
    if (fs::exists(snaps)) out.push_back({k, snaps, state.cache_index(k)});
  }
  return out;
}

std::unique_ptr<Snapshotter> Open(const Kind& k) {
  return k.name == "overlay" ? NewOverlaySnapshotter(k.snapshots) : NewCopySnapshotter(k.snapshots);
}

// Compressed export copies: compressed blob digest -> the uncompressed layer's digest (the
// uncompressed-size counts beside them, HEX.size, are not memos of this kind).
std::map<std::string, std::pair<std::string, std::string>> CompressedMemos(const std::string& root) {
  std::map<std::string, std::pair<std::string, std::string>> out;  // compressed -> (source, memo file)
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(StateDir(root).compressed(), ec)) {
    std::string name = e.path().filename().string();
    if (name.size() > 5 && name.compare(name.size() - 5, 5, ".size") == 0) continue;  // SizeMemos
    try {
      auto d = layers::Descriptor::FromJson(nlohmann::json::parse(layers::ReadFile(e.path().string())));
      out[d.digest.str()] = {"sha256:" + name.substr(0, name.find('.')), e.path().string()};
    } catch (const std::exception&) {
      out["stale:" + name] = {"", e.path().string()};
    }
  }
  return out;
}

// A record's snapshot, and its layer's blob unless that is deferred.
int64_t RecordBytes(layers::OciLayout& store, const cache::CacheRecord& r) {
  return r.layer ? r.layer->size + store.store().DiskBytes(r.layer->digest) : 0;
}

// Deferred layers that `keep` holds and that would be made from a snapshot about to be removed
// are written first: an image keeps its layers when the cache record that made them goes.
void WriteDoomedDeferred(layers::OciLayout& store, Snapshotter& snaps, const std::set<std::string>& doomed,
                         const std::set<std::string>& keep) {
  std::set<std::string> doomed_dirs;
  for (const std::string& key : doomed) {
    try {
      doomed_dirs.insert(snaps.Changes(key));
    } catch (const std::exception&) {
      // not a committed snapshot: no layer comes from it
    }
  }
  for (const std::string& blob : keep) {
    std::optional<std::string> source;
    try {
      source = store.store().DeferredSource(Digest::Parse(blob));
    } catch (const std::invalid_argument&) {
      continue;  // a manifest's odd digest: no recipe has that name
    }
    if (source && doomed_dirs.count(*source)) store.store().BlobPath(Digest::Parse(blob));
  }
}

// Incremental COPY's manifests (builder/ops/copy_reuse: a header line, then "snapshot KEY")
// whose snapshot is gone: no rebuild would use them.
void DropStaleCopyManifests(const std::string& dir, const Snapshotter& snaps) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::ifstream in(e.path());
    std::string header, line;
    std::getline(in, header);
    std::getline(in, line);
    if (line.rfind("snapshot ", 0) != 0 || !snaps.Exists(line.substr(9))) fs::remove(e.path(), ec);
  }
}

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

GcLock GcLock::Shared(const std::string& root) {
  layers::UniqueFd fd = OpenLock(root);
  Lock(fd.get(), LOCK_SH);
  return GcLock(std::move(fd));
}

GcLock GcLock::Exclusive(const std::string& root) {
  layers::UniqueFd fd = OpenLock(root);
  Lock(fd.get(), LOCK_EX);
  return GcLock(std::move(fd));
}

std::optional<GcLock> GcLock::TryExclusive(const std::string& root) {
  layers::UniqueFd fd = OpenLock(root);
  if (!Lock(fd.get(), LOCK_EX | LOCK_NB)) return std::nullopt;
  return GcLock(std::move(fd));
}

std::vector<cache::CacheRecord> CacheRecords(const std::string& root) {
  std::vector<cache::CacheRecord> out;
  for (const Kind& k : Kinds(root)) {
    for (cache::CacheRecord& r : cache::CacheIndex(k.index).All()) out.push_back(std::move(r));
  }
  return out;
}

DiskUsage MeasureDiskUsage(const std::string& root) {
  DiskUsage u;
  StateDir state(root);
  layers::OciLayout store = LocalStore(state);
  std::set<std::string> images = ImageBlobs(store), records;
  for (const Kind& k : Kinds(root)) {
    cache::CacheIndex index(k.index);
    for (const cache::CacheRecord& r : index.All()) {
      ++u.records;
      if (r.layer) records.insert(r.layer->digest.str());
    }
    std::set<std::pair<dev_t, ino_t>> seen;
    for (const Snapshotter::Info& s : Open(k)->List()) {
      int64_t bytes = DirBytes(k.snapshots + "/" + s.key, &seen);
      (IsChainSnapshot(s.key) ? u.base_snapshots : u.snapshots) += bytes;
    }
  }
  auto memos = CompressedMemos(root);
  for (const Digest& d : store.store().List()) {
    int64_t bytes = store.store().DiskBytes(d);
    if (images.count(d.str())) u.images += bytes;
    else if (records.count(d.str())) u.cache_blobs += bytes;
    else if (memos.count(d.str())) u.exports += bytes;
    else u.unreferenced += bytes;
  }
  u.cache_records = DirBytes(state.cache());
  u.cache_mounts = DirBytes(state.cache_mounts());
  u.logs = DirBytes(state.logs());
  u.remote = DirBytes(state.remote());
  return u;
}

int64_t CacheSize(const std::string& root) {
  int64_t total = 0;
  layers::OciLayout store = LocalStore(StateDir(root));
  for (const Kind& k : Kinds(root)) {
    for (const cache::CacheRecord& r : cache::CacheIndex(k.index).All()) {
      if (r.layer) total += RecordBytes(store, r);
    }
  }
  return total;
}

PruneReport Prune(const std::string& root, const PruneOptions& options) {
  PruneReport report;
  StateDir state(root);
  layers::OciLayout store = LocalStore(state);
  if (options.all) {
    // -a: dangling images (untagged builds, docker's <none>) go too.
    for (const layers::Descriptor& d : store.Manifests()) {
      if (!d.annotations.count(layers::kRefNameAnnotation)) report.images += !store.RemoveImage(d.digest).empty();
    }
  }
  std::set<std::string> keep_blobs = ImageBlobs(store);
  const int64_t now = Now();
  for (const Kind& k : Kinds(root)) {
    cache::CacheIndex index(k.index);
    std::unique_ptr<Snapshotter> snaps = Open(k);
    std::error_code ec;
    const bool filtered = options.keep_storage || options.unused_for;
    report.bytes += DirBytes(k.index + "/inputs");
    fs::remove_all(k.index + "/inputs", ec);  // digests of unchanged inputs: only a speed-up
    // Incremental COPY's manifests: the same, but a size bound's prune (after builds) keeps
    // those of the snapshots it keeps, or the next rebuild of every COPY would copy everything.
    if (!filtered) {
      report.bytes += DirBytes(StateDir(root).copy_manifests(k.name));
      fs::remove_all(StateDir(root).copy_manifests(k.name), ec);
    }
    std::vector<cache::CacheRecord> records = index.All();
    // Newest use first: --keep-storage keeps from the front.
    std::sort(records.begin(), records.end(),
              [](const cache::CacheRecord& a, const cache::CacheRecord& b) { return a.last_used > b.last_used; });
    std::vector<cache::CacheRecord> kept;
    int64_t kept_bytes = 0;
    for (const cache::CacheRecord& r : records) {
      bool broken = r.layer && (!store.store().Has(r.layer->digest) || !snaps->Exists(r.snapshot));
      bool old = options.unused_for && now - r.last_used > *options.unused_for;
      int64_t bytes = RecordBytes(store, r);
      bool over = options.keep_storage && kept_bytes + bytes > *options.keep_storage;
      if (broken || !filtered || old || over) {
        index.Remove(r.key);
        ++report.records;
        report.bytes += r.size;
        continue;
      }
      kept_bytes += bytes;
      kept.push_back(r);
    }
    // Snapshots: those kept records use, and their ancestors, stay.
    std::vector<Snapshotter::Info> all = snaps->List();
    std::map<std::string, std::string> parent_of;
    for (const auto& s : all) parent_of[s.key] = s.parent;
    std::set<std::string> live;
    for (const cache::CacheRecord& r : kept) {
      if (r.layer) keep_blobs.insert(r.layer->digest.str());
      for (std::string s = r.snapshot; !s.empty() && live.insert(s).second;) s = parent_of[s];
    }
    std::set<std::string> doomed;
    for (const auto& s : all) {
      bool base = IsChainSnapshot(s.key);
      if (!live.count(s.key) && (!base || options.all)) doomed.insert(s.key);
    }
    if (snaps->kind() == "overlay") WriteDoomedDeferred(store, *snaps, doomed, keep_blobs);
    // Leaves first: a snapshot goes once nothing is based on it.
    for (bool progress = true; progress && !doomed.empty();) {
      progress = false;
      std::set<std::string> parents;
      for (const auto& [key, parent] : parent_of) {
        if (!parent.empty()) parents.insert(parent);
      }
      for (auto it = doomed.begin(); it != doomed.end();) {
        if (parents.count(*it)) {
          ++it;
          continue;
        }
        report.bytes += DirBytes(k.snapshots + "/" + *it);
        try {
          snaps->Remove(*it);
          ++report.snapshots;
        } catch (const std::exception&) {
        }
        parent_of.erase(*it);
        it = doomed.erase(it);
        progress = true;
      }
    }
    if (filtered) DropStaleCopyManifests(StateDir(root).copy_manifests(k.name), *snaps);
  }
  // Export copies stay while the layer they were made from stays (unless --all).
  for (const auto& [compressed, memo] : CompressedMemos(root)) {
    bool source_kept = keep_blobs.count(memo.first) != 0;
    if (!options.all && source_kept && compressed.rfind("stale:", 0) != 0) {
      keep_blobs.insert(compressed);
    } else {
      ::unlink(memo.second.c_str());
    }
  }
  // Uncompressed-size counts (layers/layer_size) go with their blob.
  {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(StateDir(root).compressed(), ec)) {
      std::string name = e.path().filename().string();
      if (name.size() <= 5 || name.compare(name.size() - 5, 5, ".size") != 0) continue;
      if (!keep_blobs.count("sha256:" + name.substr(0, name.size() - 5))) ::unlink(e.path().c_str());
    }
  }
  for (const Digest& d : store.store().List()) {
    if (keep_blobs.count(d.str())) continue;
    report.bytes += store.store().DiskBytes(d);
    store.store().Remove(d);
    ++report.blobs;
  }
  if (options.all) {
    std::error_code ec;
    for (const std::string& dir : {state.cache_mounts(), state.logs(), state.remote()}) {
      report.bytes += DirBytes(dir);
      fs::remove_all(dir, ec);
    }
  }
  return report;
}

int64_t ParseSize(const std::string& text, const std::string& root) {
  std::string t = text;
  if (!t.empty() && t.back() == '%') {
    size_t used = 0;
    double pct = -1;
    try {
      pct = std::stod(t.substr(0, t.size() - 1), &used);
    } catch (const std::exception&) {
    }
    if (used != t.size() - 1 || !(pct > 0 && pct <= 100))
      throw std::invalid_argument("not a share of the disk: \"" + text + "\" (use e.g. 10%, between 0 and 100)");
    struct statvfs vfs;
    layers::MakeDirs(root);
    if (::statvfs(root.c_str(), &vfs) != 0) throw layers::SysError("statvfs", root);
    return static_cast<int64_t>(static_cast<double>(vfs.f_blocks) * vfs.f_frsize * pct / 100.0);
  }
  size_t pos = 0;
  double n;
  try {
    n = std::stod(t, &pos);
  } catch (const std::exception&) {
    throw std::invalid_argument("not a size: \"" + text + "\" (use e.g. 10GB, 512MiB or 10%)");
  }
  std::string unit;
  for (char c : t.substr(pos)) unit += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const std::map<std::string, double> kUnits = {
      {"", 1},         {"b", 1},         {"k", 1024.0},          {"kb", 1024.0},          {"kib", 1024.0},
      {"m", 1048576.0}, {"mb", 1048576.0}, {"mib", 1048576.0},    {"g", 1073741824.0},     {"gb", 1073741824.0},
      {"gib", 1073741824.0}, {"t", 1099511627776.0}, {"tb", 1099511627776.0}, {"tib", 1099511627776.0}};
  auto it = kUnits.find(unit);
  if (it == kUnits.end() || n < 0) throw std::invalid_argument("not a size: \"" + text + "\" (use e.g. 10GB, 512MiB or 10%)");
  return static_cast<int64_t>(std::llround(n * it->second));
}

int64_t ParseDuration(const std::string& text) {
  int64_t total = 0;
  size_t pos = 0;
  if (text.empty()) throw std::invalid_argument("empty duration");
  while (pos < text.size()) {
    size_t used = 0;
    double n;
    try {
      n = std::stod(text.substr(pos), &used);
    } catch (const std::exception&) {
      throw std::invalid_argument("not a duration: \"" + text + "\" (use e.g. 24h, 90m, 7d)");
    }
    pos += used;
    if (pos >= text.size()) throw std::invalid_argument("not a duration: \"" + text + "\" (a unit is needed: s, m, h, d)");
    char u = text[pos++];
    double scale = u == 's' ? 1 : u == 'm' ? 60 : u == 'h' ? 3600 : u == 'd' ? 86400 : -1;
    if (scale < 0 || n < 0) throw std::invalid_argument("not a duration: \"" + text + "\" (use e.g. 24h, 90m, 7d)");
    total += static_cast<int64_t>(n * scale);
  }
  return total;
}

}  // namespace imgbuild::builder
