// `imgbuild du` and `imgbuild prune`: the state dir's disk use and garbage collection.
#include <time.h>

#include <algorithm>
#include <cstdlib>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

#include "builder/cli/commands.h"
#include "builder/cli/user_message.h"
#include "builder/cli/table.h"
#include "builder/state/gc.h"
#include "builder/state/state_dir.h"

namespace imgbuild::builder {
namespace {

std::string Human(int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  std::ostringstream o;
  o << std::fixed << std::setprecision(u == 0 ? 0 : 1) << v << " " << units[u];
  return o.str();
}

}  // namespace

// A bar of `width` cells filled to `share` (0..1): plain text that reads in a terminal and a CI log.
std::string Bar(double share, int width) {
  share = std::clamp(share, 0.0, 1.0);
  int full = static_cast<int>(share * width + 0.5);
  std::string out = "[";
  for (int i = 0; i < width; ++i) out += i < full ? "#" : ".";
  return out + "]";
}

int RunDu(const CacheOptions& options, std::ostream& out, std::ostream& err) {
  try {
    std::string root = StateDir::Open(options.root).root();
    GcLock lock = GcLock::Shared(root);
    DiskUsage u = MeasureDiskUsage(root);
    // What each kind frees: `prune` (cache records, their layers and snapshots, unreferenced
    // blobs) or only `prune -a` (the rest); tagged images never.
    enum Reclaim { kNever, kPrune, kPruneAll };
    const struct Row {
      const char* name;
      int64_t bytes;
      Reclaim reclaim;
    } rows[] = {{"images", u.images, kNever},
                {"cache records", u.cache_records, kPrune},
                {"cache layers", u.cache_blobs, kPrune},
                {"snapshots", u.snapshots, kPrune},
                {"base snapshots", u.base_snapshots, kPruneAll},
                {"cache mounts", u.cache_mounts, kPruneAll},
                {"export copies", u.exports, kPruneAll},
                {"unreferenced", u.unreferenced, kPrune},
                {"logs", u.logs, kPruneAll},
                {"remote sources", u.remote, kPruneAll}};
    int64_t by_prune = 0, by_all = 0;
    for (const Row& r : rows) {
      if (r.reclaim == kPrune) by_prune += r.bytes;
      if (r.reclaim != kNever) by_all += r.bytes;
    }
    const char* env_limit = std::getenv("IMGBUILD_CACHE_LIMIT");
    int64_t limit = ParseSize(env_limit && *env_limit ? env_limit : "10%", root);
    int64_t cache = CacheSize(root);
    std::vector<cache::CacheRecord> records;
    if (options.verbose) records = CacheRecords(root);
    std::sort(records.begin(), records.end(),
              [](const cache::CacheRecord& a, const cache::CacheRecord& b) { return a.last_used > b.last_used; });
    if (options.json) {
      nlohmann::ordered_json j;
      for (const Row& r : rows) j[r.name] = r.bytes;
      j["records"] = u.records;
      j["total"] = u.Total();
      j["reclaimable"] = {{"prune", by_prune}, {"prune -a", by_all}};
      j["cache"] = {{"size", cache}, {"limit", limit}};
      if (options.verbose) {
        j["cache records"] = nlohmann::ordered_json::array();
        for (const cache::CacheRecord& r : records)
          j["cache records"].push_back({{"key", r.key.str()}, {"step", r.label}, {"last_used", r.last_used},
                                        {"size", r.layer ? r.layer->size : 0}});
      }
      out << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
      return 0;
    }
    std::vector<std::vector<std::string>> table = {{"KIND", "SIZE", "RECLAIMABLE"}};
    for (const Row& r : rows)
      table.push_back({r.name, Human(r.bytes), r.reclaim == kNever ? "no" : r.reclaim == kPrune ? "prune" : "prune -a"});
    table.push_back({"total", Human(u.Total()), ""});
    out << Tabulate(table);
    out << "reclaimable: " << Human(by_prune) << " by `prune`, " << Human(by_all) << " by `prune -a`\n";
    out << "build cache " << Bar(limit > 0 ? static_cast<double>(cache) / static_cast<double>(limit) : 1.0, 30) << " "
        << Human(cache) << " of its " << Human(limit) << " bound (" << u.records << " records)\n";
    if (options.verbose) {
      // Each record, newest use first, with a bar of its layer against the largest.
      int64_t largest = 1;
      for (const cache::CacheRecord& r : records) largest = std::max<int64_t>(largest, r.layer ? r.layer->size : 0);
      std::vector<std::vector<std::string>> list = {{"ID", "LAST USED", "SIZE", "", "STEP"}};
      int64_t now = static_cast<int64_t>(::time(nullptr));
      for (const cache::CacheRecord& r : records) {
        int64_t size = r.layer ? r.layer->size : 0;
        list.push_back({std::string(r.key.str().substr(7, 12)),
                        HumanDuration(static_cast<double>(now - r.last_used)) + " ago", HumanSize(static_cast<double>(size)),
                        Bar(static_cast<double>(size) / static_cast<double>(largest), 16), r.label});
      }
      out << "\n" << Tabulate(list);
    }
    return 0;
  } catch (const std::exception& e) {
    err << "error: " << UserMessage(e) << "\n";
    return 1;
  }
}

int RunPrune(const CacheOptions& options, std::ostream& out, std::ostream& err) {
  PruneOptions po;
  po.all = options.all;
  std::string root;
  try {
    root = StateDir::Open(options.root).root();
    if (!options.keep_storage.empty()) po.keep_storage = ParseSize(options.keep_storage, root);
    for (const std::string& f : options.filters) {
      if (f.rfind("until=", 0) != 0) throw std::invalid_argument("unknown --filter \"" + f + "\" (imgbuild knows until=DURATION)");
      po.unused_for = ParseDuration(f.substr(6));
    }
  } catch (const std::invalid_argument& e) {
    err << "error: " << e.what() << "\n";
    return 2;
  }
  try {
    GcLock lock = GcLock::Exclusive(root);
    PruneReport r = Prune(root, po);
    out << "removed " << (r.images ? std::to_string(r.images) + " untagged images, " : "") << r.records << " cache records, " << r.snapshots << " snapshots, " << r.blobs << " blobs; freed "
        << Human(r.bytes) << "\n";
    return 0;
  } catch (const std::exception& e) {
    err << "error: " << UserMessage(e) << "\n";
    return 1;
  }
}

}  // namespace imgbuild::builder
