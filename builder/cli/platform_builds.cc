#include "builder/cli/platform_builds.h"

#include <atomic>
#include <chrono>
#include <exception>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "builder/cli/build_planning.h"
#include "builder/progress/platform_status.h"
#include "builder/solver/solver.h"
#include "builder/state/state_dir.h"
#include "builder/state/workspace.h"
#include "cache/transfer.h"
#include "layers/image_index.h"
#include "layers/oci_layout.h"

namespace imgbuild::builder {
namespace {

struct PlatformBuild {
  BuildInvocation inv;
  std::unique_ptr<PlatformStatus> status;
  frontend::Plan plan;
  BuiltImage image;
};

int PlannedSteps(const frontend::Plan& plan) {
  int n = 0;
  for (int s : plan.order) n += static_cast<int>(plan.stages[s].steps.size());
  return n;
}

}  // namespace

BuiltImage BuildPlatforms(const BuildOptions& options, BuildInvocation& inv, std::optional<Workspace>& remote_contexts,
                          Progress& status) {
  PlatformStatus::Shared shared;
  std::vector<std::unique_ptr<PlatformBuild>> builds;
  int first_step = 0;
  for (size_t i = 0; i < inv.platforms.size(); ++i) {
    const frontend::PlatformSpec& p = inv.platforms[i];
    auto b = std::make_unique<PlatformBuild>();
    b->inv = inv;
    b->inv.plan_options.target_platform = p;
    b->inv.req.platform = {p.os, p.arch, p.variant};
    b->inv.req.part_of_index = true;
    // The first plan says its build checks; the others would say the same again.
    b->status = std::make_unique<PlatformStatus>(status, shared, layers::PlatformText(b->inv.req.platform), first_step, i == 0);
    b->plan = PlanBuild(options, b->inv, remote_contexts, *b->status);
    inv.buildfile = b->inv.buildfile;
    first_step += PlannedSteps(b->plan);
    builds.push_back(std::move(b));
  }
  // The first platform that fails stops the others (their steps show CANCELED), as Ctrl-C does.
  std::mutex mu;
  std::exception_ptr error;
  std::atomic<bool> stop{false};
  const std::atomic<bool>* signalled = inv.req.interrupted;
  for (auto& b : builds) b->inv.req.interrupted = &stop;
  std::vector<std::thread> threads;
  for (auto& b : builds) {
    threads.emplace_back([&b, &mu, &error, &stop] {
      try {
        b->image = BuildImage(b->plan, b->inv.req, *b->status);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (!error) error = std::current_exception();
        stop = true;
      }
    });
  }
  std::atomic<bool> done{false};
  std::thread watcher([&] {
    while (!done.load()) {
      if (signalled && signalled->load()) stop = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  for (std::thread& t : threads) t.join();
  done = true;
  watcher.join();
  if (error) std::rethrow_exception(error);

  const StateDir state(inv.req.root);
  layers::OciLayout store = LocalStore(state);
  std::vector<layers::Descriptor> manifests;
  BuiltImage out;
  for (const auto& b : builds) {
    layers::Descriptor d = b->image.manifest;
    d.annotations.clear();
    d.platform = b->inv.req.platform;
    manifests.push_back(d);
    out.steps_run += b->image.steps_run;
    out.layers.insert(out.layers.end(), b->image.layers.begin(), b->image.layers.end());
    if (out.build_ref.empty()) out.build_ref = b->image.build_ref;
  }
  // --cache-to: every platform's records in one cache.
  for (size_t i = 0; i < inv.req.cache_to.size(); ++i) {
    const cache::CacheTransferSpec& spec = inv.req.cache_to[i];
    std::vector<cache::CacheRecord> records;
    std::set<std::string> seen;
    for (const auto& b : builds) {
      if (i >= b->image.cache_records.size()) continue;
      for (const cache::CacheRecord& r : b->image.cache_records[i]) {
        if (seen.insert(r.key.str()).second) records.push_back(r);
      }
    }
    std::string where = spec.type == "registry" ? spec.ref : spec.dir;
    try {
      Workspace scratch(state);
      cache::CacheLayerOptions o;
      o.compression = inv.req.export_compression;
      o.memo_dir = state.compressed();
      cache::ExportCache(spec, scratch.NewDir("cache-to-"), records, store.store(), o, inv.req.tls_verify);
    } catch (const std::exception& e) {
      throw BuildError("--cache-to " + where + ": " + e.what());
    }
    status.Info("exported " + std::to_string(records.size()) + " cache records to " + where);
  }
  out.manifest = layers::PutIndex(store.store(), manifests, inv.index_annotations);
  out.config = out.manifest;
  for (const std::string& tag : inv.req.tags) store.Tag(tag, out.manifest);
  if (inv.req.tags.empty()) store.AddUntagged(out.manifest);
  return out;
}

}  // namespace imgbuild::builder
