// `imgbuild build`: flags -> plan -> solve -> export.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iomanip>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <vector>

#include "builder/cli/build_checks.h"
#include "builder/cli/build_flags.h"
#include "builder/cli/build_planning.h"
#include "builder/cli/platform_builds.h"
#include "builder/cli/buildfile_source.h"
#include "builder/cli/commands.h"
#include "builder/cli/user_message.h"
#include "builder/cli/store_access.h"
#include "builder/ops/remote_source.h"
#include "builder/progress/progress.h"
#include "builder/solver/solver.h"
#include "builder/state/gc.h"
#include "builder/state/state_dir.h"
#include "builder/state/workspace.h"
#include "frontend/lower.h"
#include "frontend/parser.h"
#include "layers/image_export.h"
#include "layers/image_index.h"
#include "layers/oci_layout.h"
#include "layers/registry/transfer.h"
#include "layers/scratch_dir.h"
#include "layers/sys_error.h"

namespace imgbuild::builder {
namespace {

std::atomic<bool> g_interrupted{false};

void OnSignal(int) { g_interrupted.store(true); }

using namespace imgbuild::frontend;

// Ctrl-C or a TERM stops the build between steps, so mounts and scratch space are cleaned up.
void StopOnSignals(BuildRequest& req) {
  req.interrupted = &g_interrupted;
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

// The build cache's size bound: when it is over, the least recently used records go. Skipped
// when another command holds the store (the next build applies it).
void ApplyCacheBound(const std::string& root, int64_t limit, Progress& status) {
  try {
    std::optional<GcLock> lock = GcLock::TryExclusive(root);
    if (!lock) return;
    int64_t size = CacheSize(root);
    if (size <= limit) return;
    PruneOptions po;
    po.keep_storage = limit;
    PruneReport r = Prune(root, po);
    status.Info("build cache over its bound (" + std::to_string(size) + " > " + std::to_string(limit) +
                " bytes): removed " + std::to_string(r.records) + " least recently used records");
  } catch (const std::exception& e) {
    status.Warning(std::string("build cache bound not applied: ") + e.what());
  }
}

// export: the -o outputs and the pushes of what was built. Returns the manifest of what left the
// store (compressed layers: the one registries and tars hold), or nothing when no manifest did.
std::optional<layers::Descriptor> ExportBuild(const BuildOptions& options, const BuildInvocation& inv,
                                              const BuiltImage& image, Progress& status, std::ostream& out,
                                              std::vector<std::string>& pushed) {
  std::optional<layers::Descriptor> shipped;
  const StateDir state(inv.req.root);
  layers::OciLayout store = LocalStore(state);
  std::vector<std::string> push_to;
  if (options.push) push_to = options.tags;
  for (const OutputSpec& o : inv.outputs) {
    if (o.type == "image") {
      store.Tag(o.name, image.manifest);
      if (o.push) push_to.push_back(o.name);
      continue;
    }
    const std::string shown = o.dest == "-" ? "standard output" : o.dest;
    if (o.type == "local") {
      layers::ExportRootfs(store, image.manifest, o.dest);
      status.Info("exported " + o.type + " to " + shown);
      continue;
    }
    auto make = [&](const std::string& dest) {
      if (o.type == "tar") {
        layers::ExportRootfsTar(store, image.manifest, dest, inv.req.source_date_epoch);
        return;
      }
      layers::ExportFormat format = o.type == "docker" ? layers::ExportFormat::kDockerTar
                                    : o.tar            ? layers::ExportFormat::kOciTar
                                                       : layers::ExportFormat::kOciDir;
      shipped = layers::ExportImage(store, image.manifest, options.tags, format, dest, inv.export_options);
    };
    if (o.dest == "-") {
      ExportToStream(inv.req.root, out, make);
    } else {
      make(o.dest);
    }
    status.Info("exported " + o.type + " to " + shown);
  }
  for (const std::string& name : push_to) {
    layers::registry::Reference dest = layers::registry::Reference::Parse(name);
    layers::registry::RegistryClient client(dest.domain, inv.registry_options);
    layers::registry::PushResult p = layers::registry::Push(client, store, image.manifest, dest,
                                                            inv.export_options, state.tmp());
    status.Info("pushed " + dest.String() + " (" + p.manifest.digest.str() +
                "): " + std::to_string(p.uploaded) + " blobs uploaded, " +
                std::to_string(p.existed) + " already there");
    shipped = p.manifest;
    pushed.push_back(dest.String() + "@" + p.manifest.digest.str());
  }
  return shipped;
}

}  // namespace

int BuildUsageError(const std::string& message, bool rawjson, std::ostream& err) {
  if (!rawjson) {
    err << "error: " << message << "\n";
    return 2;
  }
  std::unique_ptr<Progress> status = MakeProgress("rawjson", err, 2);
  status->Failed(message, 2);
  status->Finish();
  return 2;
}

bool BuildWantsRawJson(const std::vector<std::string>& args) {
  if (args.size() < 2 || args[1] != "build") return false;
  std::optional<std::string> mode;
  for (size_t i = 2; i < args.size(); ++i) {
    if (args[i] == "--") break;
    if (args[i] == "--progress" && i + 1 < args.size()) mode = args[i + 1];
    if (args[i].rfind("--progress=", 0) == 0) mode = args[i].substr(11);
  }
  if (!mode) {
    const char* env = std::getenv("BUILDKIT_PROGRESS");
    if (env) mode = env;
  }
  return mode == "rawjson";
}

int RunBuild(const BuildOptions& options, std::ostream& out, std::ostream& err) {
  BuildInvocation inv;
  {
    // Flag errors are "error: ..." lines; with rawjson they become the stream's failed event.
    std::ostringstream flag_err;
    if (int code = ParseBuildFlags(options, inv, flag_err)) {
      if (options.progress != "rawjson") {
        err << flag_err.str();
        return code;
      }
      std::string message = flag_err.str();
      if (message.rfind("error: ", 0) == 0) message.erase(0, 7);
      while (!message.empty() && message.back() == '\n') message.pop_back();
      return BuildUsageError(message, true, err);
    }
    err << flag_err.str();  // nothing today; kept if a flag ever warns
  }
  StopOnSignals(inv.req);
  int code = 1;
  int ran_steps = -1;  // unknown until the build returns
  std::optional<GcLock> gc_lock;
  std::optional<Workspace> remote_contexts;  // remote named contexts, fetched for this build
  // From here on every message goes through the progress printer, so --progress=rawjson is one
  // JSON event a line from the first to the last.
  std::unique_ptr<Progress> status = MakeProgress(options.progress, err, 2);
  // Pulls and pushes run several transfers at once; their retries are said one at a time.
  auto retry_mu = std::make_shared<std::mutex>();
  inv.registry_options.on_retry = [retry_mu, &status](const std::string& what) {
    std::lock_guard<std::mutex> lock(*retry_mu);
    status->Warning("retrying: " + what);
  };
  try {
    gc_lock.emplace(GcLock::Shared(inv.req.root));  // pulls, the build and the exports
    auto t0 = std::chrono::steady_clock::now();
    BuiltImage image;
    if (inv.platforms.size() > 1) {
      image = BuildPlatforms(options, inv, remote_contexts, *status);
    } else {
      Plan plan = PlanBuild(options, inv, remote_contexts, *status);
      image = BuildImage(plan, inv.req, *status);
    }
    ran_steps = image.steps_run;
    std::vector<std::string> pushed;
    std::optional<layers::Descriptor> shipped = ExportBuild(options, inv, image, *status, out, pushed);
    const bool stdout_taken = std::any_of(inv.outputs.begin(), inv.outputs.end(), [](const OutputSpec& o) { return o.dest == "-"; });
    const layers::Descriptor& reported = shipped ? *shipped : image.manifest;
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::ostringstream built;
    built << "built " << reported.digest.str() << " in " << std::fixed << std::setprecision(3)
          << seconds << "s";
    status->Info(built.str());
    std::vector<std::string> names;
    for (const std::string& t : options.tags) names.push_back(layers::NormalizeTag(t));
    for (const std::string& n : names) status->Info("tagged " + n);
    layers::Descriptor descriptor = reported;
    descriptor.annotations.clear();
    nlohmann::ordered_json md = {{"buildx.build.ref", image.build_ref},
                                 {"containerimage.config.digest", image.config.digest.str()},
                                 {"containerimage.descriptor", descriptor.ToJson()},
                                 {"containerimage.digest", reported.digest.str()},
                                 {"imgbuild.store.digest", image.manifest.digest.str()}};
    if (layers::IsIndex(image.manifest.media_type)) md.erase("containerimage.config.digest");  // as buildx: an index has none
    if (!names.empty()) {
      std::string joined;
      for (const std::string& n : names) joined += (joined.empty() ? "" : ",") + n;
      md["image.name"] = joined;
    }
    if (!options.iidfile.empty()) layers::WriteFileAtomic(options.iidfile, image.config.digest.str());
    if (!options.metadata_file.empty()) layers::WriteFileAtomic(options.metadata_file, md.dump(2) + "\n");
    status->Result({{"digest", reported.digest.str()},
                    {"config_digest", image.config.digest.str()},
                    {"store_digest", image.manifest.digest.str()},
                    {"build_ref", image.build_ref},
                    {"names", names},
                    {"pushed", pushed},
                    {"steps_run", image.steps_run},
                    {"seconds", seconds}});
    status->Finish();
    // -q prints docker's image ID (the config digest); otherwise the manifest digest.
    if (!stdout_taken) out << (options.quiet ? image.config.digest.str() : reported.digest.str()) << "\n";
    code = 0;
  } catch (const std::exception& e) {
    // A Buildfile error comes after the build checks of the lines above it (BuildKit's order).
    if (const auto* pe = dynamic_cast<const frontend::ParseError*>(&e)) ReportBuildChecks(pe->file(), pe->warnings(), false, *status);
    if (g_interrupted.load()) {
      // Ctrl-C or SIGTERM: what failed after it failed because of it. 130 as a shell reports SIGINT.
      code = 130;
      status->Failed("build canceled (" + UserMessage(e) + ")", code);
    } else {
      status->Failed(UserMessage(e), code);
    }
    status->Finish();
  }
  gc_lock.reset();
  if (ran_steps != 0) ApplyCacheBound(inv.req.root, inv.cache_limit, *status);
  return code;
}

}  // namespace imgbuild::builder
