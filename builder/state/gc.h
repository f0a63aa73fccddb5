// Disk use and garbage collection of a state dir: `imgbuild du`, `imgbuild prune` and the size
// bound applied after builds. Everything that reads or writes the store (builds, load, tag, rm)
// holds ROOT/gc.lock shared; prune holds it exclusive, so it never removes what a running
// command needs. Tagged images (their manifests, configs and layers) are never removed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cache/cache_index.h"
#include "layers/sys_error.h"

namespace imgbuild::builder {

class GcLock {
 public:
  static GcLock Shared(const std::string& root);  // waits while a prune runs
  static GcLock Exclusive(const std::string& root);
  static std::optional<GcLock> TryExclusive(const std::string& root);
  void Release() { fd_.Reset(); }

 private:
  explicit GcLock(layers::UniqueFd fd) : fd_(std::move(fd)) {}
  layers::UniqueFd fd_;
};

struct DiskUsage {
  int64_t images = 0;        // blobs of tagged images
  int64_t cache_blobs = 0;   // layer blobs only cache records use
  int64_t cache_records = 0; // the records themselves (and the file-digest memo)
  int64_t snapshots = 0;     // cached steps' snapshots (c-*) and temporary ones
  int64_t base_snapshots = 0;  // unpacked base image layers (chain-*)
  int64_t exports = 0;       // compressed copies of layers made for exports
  int64_t unreferenced = 0;  // blobs nothing uses
  int64_t cache_mounts = 0;
  int64_t logs = 0;
  int64_t remote = 0;  // ADD's downloads and Git mirrors (ROOT/remote)
  int records = 0;
  int64_t Total() const {
    return images + cache_blobs + cache_records + snapshots + base_snapshots + exports + unreferenced + cache_mounts + logs + remote;
  }
};

DiskUsage MeasureDiskUsage(const std::string& root);

// Every build cache record (of both snapshotters' indexes), for `du --verbose`.
std::vector<cache::CacheRecord> CacheRecords(const std::string& root);

struct PruneOptions {
  bool all = false;  // also untagged images, base snapshots, cache mounts, export copies, logs, ADD's downloads
  std::optional<int64_t> keep_storage;       // keep the most recently used records up to this many bytes
  std::optional<int64_t> unused_for;         // seconds: only records unused for longer
};

struct PruneReport {
  int images = 0, records = 0, snapshots = 0, blobs = 0;  // images: untagged ones removed
  int64_t bytes = 0;  // freed
};

// Removes what `options` selects and every piece of garbage (records whose snapshot or blob is
// gone, snapshots no record needs, blobs nothing references). The caller holds the exclusive lock.
PruneReport Prune(const std::string& root, const PruneOptions& options);

// The cache's size as the size bound counts it: the layer blobs and snapshots of cache records.
int64_t CacheSize(const std::string& root);

// "10GB", "512MiB", "1.5g", "1000" -> bytes; "10%" -> that share of the state dir's filesystem.
// Throws std::invalid_argument.
int64_t ParseSize(const std::string& text, const std::string& root);
// "24h", "90m", "30s", "7d" -> seconds. Throws std::invalid_argument.
int64_t ParseDuration(const std::string& text);

}  // namespace imgbuild::builder
