// `imgbuild du` and `imgbuild prune`: the state dir's disk use and garbage collection.
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

#include "builder/cli/commands.h"
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

int RunDu(const CacheOptions& options, std::ostream& out, std::ostream& err) {
  try {
    std::string root = StateDir::Open(options.root).root();
    GcLock lock = GcLock::Shared(root);
    DiskUsage u = MeasureDiskUsage(root);
    const std::pair<const char*, int64_t> rows[] = {
        {"images", u.images},           {"cache records", u.cache_records}, {"cache layers", u.cache_blobs},
        {"snapshots", u.snapshots},     {"base snapshots", u.base_snapshots}, {"cache mounts", u.cache_mounts},
        {"export copies", u.exports},   {"unreferenced", u.unreferenced},   {"logs", u.logs},
        {"remote sources", u.remote}};
    if (options.json) {
      nlohmann::ordered_json j;
      for (const auto& [name, bytes] : rows) j[name] = bytes;
      j["records"] = u.records;
      j["total"] = u.Total();
      out << j.dump(2) << "\n";
      return 0;
    }
    out << std::left << std::setw(16) << "KIND" << std::right << std::setw(12) << "SIZE" << "\n";
    for (const auto& [name, bytes] : rows) out << std::left << std::setw(16) << name << std::right << std::setw(12) << Human(bytes) << "\n";
    out << std::left << std::setw(16) << "total" << std::right << std::setw(12) << Human(u.Total()) << "\n";
    out << u.records << " cache records; the size bound counts " << Human(CacheSize(root)) << "\n";
    return 0;
  } catch (const std::exception& e) {
    err << "error: " << e.what() << "\n";
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
    err << "error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace imgbuild::builder
