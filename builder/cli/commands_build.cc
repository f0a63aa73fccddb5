// `imgbuild build`.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iomanip>
#include <sstream>

#include "builder/cli/buildfile_source.h"
#include "builder/cli/commands.h"
#include "builder/cli/flags.h"
#include "builder/state/gc.h"
#include "layers/registry/transfer.h"
#include "builder/solver/solver.h"
#include "builder/progress/progress.h"
#include "builder/ops/remote_source.h"
#include "builder/sandbox/run_mounts.h"
#include "builder/state/state_dir.h"
#include "builder/state/workspace.h"
#include "frontend/lower.h"
#include "frontend/words.h"
#include "frontend/parser.h"
#include "layers/image_export.h"
#include "layers/oci_layout.h"
#include "layers/sys_error.h"

namespace imgbuild::builder {
namespace {

std::atomic<bool> g_interrupted{false};

void OnSignal(int) { g_interrupted.store(true); }

using namespace imgbuild::frontend;

// The build cache's size bound: when it is over, the least recently used records go. Skipped
// when another command holds the store (the next build applies it).
void ApplyCacheBound(const std::string& root, int64_t limit, std::ostream& err) {
  try {
    std::optional<GcLock> lock = GcLock::TryExclusive(root);
    if (!lock) return;
    int64_t size = CacheSize(root);
    if (size <= limit) return;
    PruneOptions po;
    po.keep_storage = limit;
    PruneReport r = Prune(root, po);
    err << "build cache over its bound (" << size << " > " << limit << " bytes): removed " << r.records
        << " least recently used records\n";
  } catch (const std::exception& e) {
    err << "warning: build cache bound not applied: " << e.what() << "\n";
  }
}

}  // namespace

int RunBuild(const BuildOptions& options, std::ostream& out, std::ostream& err) {
  const FrontendOptions& fo = options.frontend;
  PlanOptions plan_options;
  if (!ParseBuildArgs(fo.build_args, plan_options.build_args, err)) return 2;
  plan_options.target = fo.target;
  BuildRequest req;
  req.platform = layers::Platform::Host();
  if (!fo.platform.empty()) {
    try {
      PlatformSpec p = PlatformSpec::Parse(fo.platform);
      plan_options.target_platform = p;
      req.platform = {p.os, p.arch, p.variant};
    } catch (const std::invalid_argument& e) {
      err << "error: --platform: " << e.what() << "\n";
      return 2;
    }
  }
  layers::Compression compression;
  try {
    compression = layers::ParseCompression(options.compression);
  } catch (const std::invalid_argument& e) {
    err << "error: --compression: " << e.what() << "\n";
    return 2;
  }
  std::vector<OutputSpec> outputs;
  try {
    for (const std::string& o : options.outputs) outputs.push_back(ParseOutputSpec(o));
  } catch (const std::invalid_argument& e) {
    err << "error: -o: " << e.what() << "\n";
    return 2;
  }
  for (const std::string& kv : options.labels) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      err << "error: --label needs KEY=VALUE, got \"" << kv << "\"\n";
      return 2;
    }
    req.labels[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const std::string& kv : options.build_contexts) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == kv.size()) {
      err << "error: --build-context needs NAME=DIR or NAME=oci-layout://PATH[:TAG], got \"" << kv << "\"\n";
      return 2;
    }
    std::string name = kv.substr(0, eq), value = kv.substr(eq + 1);
    bool remote = ClassifySource(value) != SourceKind::kLocal;
    if (value.find("://") != std::string::npos && value.rfind("oci-layout://", 0) != 0 &&
        value.rfind("docker-image://", 0) != 0 && !remote) {
      err << "error: --build-context " << name
          << ": use a directory, oci-layout://PATH[:TAG], docker-image://REF, an http(s) URL of a tar archive or a Git URL\n";
      return 2;
    }
    req.named_contexts[name] = value;
    plan_options.named_contexts.insert(name);
  }
  if (options.network != "default" && options.network != "none" && options.network != "host") {
    err << "error: --network: unknown mode \"" << options.network << "\" (use default, none or host)\n";
    return 2;
  }
  req.network = options.network;
  for (const std::string& a : options.allow) {
    if (a != "security.insecure") {
      err << "error: --allow: unknown entitlement \"" << a << "\" (imgbuild knows security.insecure)\n";
      return 2;
    }
    req.allow_insecure = true;
  }
  try {
    for (const std::string& s : options.secrets) req.secrets.insert(ParseSecretFlag(s));
    for (const std::string& s : options.ssh) req.ssh.insert(ParseSshFlag(s));
  } catch (const std::invalid_argument& e) {
    err << "error: " << e.what() << "\n";
    return 2;
  }
  if (options.jobs < 0) {
    err << "error: --jobs must be 0 (the number of cores) or more\n";
    return 2;
  }
  req.jobs = options.jobs;
  req.no_cache = options.no_cache;
  try {
    for (const std::string& c : options.cache_to) req.cache_to.push_back(ParseCacheSpec(c, true));
    for (const std::string& c : options.cache_from) req.cache_from.push_back(ParseCacheSpec(c, false));
  } catch (const std::invalid_argument& e) {
    err << "error: " << e.what() << "\n";
    return 2;
  }
  req.explain_cache = options.explain_cache;
  req.export_compression.compression = compression;
  req.export_compression.level = options.compression_level;
  for (const std::string& st : options.no_cache_filter) req.no_cache_stages.insert(frontend::AsciiLower(st));
  int code = 1;
  int ran_steps = -1;  // unknown until the build returns
  std::optional<GcLock> gc_lock;
  std::optional<Workspace> remote_contexts;  // remote named contexts, fetched for this build
  if (options.progress != "auto" && options.progress != "plain" && options.progress != "tty" &&
      options.progress != "rawjson") {
    err << "error: --progress: unknown mode \"" << options.progress << "\" (use auto, plain, tty or rawjson)\n";
    return 2;
  }
  std::unique_ptr<Progress> status;
  req.root = StateDir::Resolve(options.root).root();
  const StateDir state(req.root);
  int64_t cache_limit = 0;
  try {
    const char* env_limit = std::getenv("IMGBUILD_CACHE_LIMIT");
    std::string limit = !options.cache_limit.empty() ? options.cache_limit : env_limit && *env_limit ? env_limit : "10%";
    cache_limit = ParseSize(limit, req.root);
  } catch (const std::exception& e) {
    err << "error: --cache-limit: " << e.what() << "\n";
    return 2;
  }
  req.interrupted = &g_interrupted;
  // Ctrl-C or a TERM stops the build between steps, so mounts and scratch space are cleaned up.
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  if (options.pull != "missing" && options.pull != "always" && options.pull != "never") {
    err << "error: --pull: unknown policy \"" << options.pull << "\" (use missing, always or never)\n";
    return 2;
  }
  layers::registry::RegistryOptions registry_options;
  registry_options.tls_verify = options.tls_verify;
  req.tls_verify = options.tls_verify;
  // FROM IMAGE: the local store's, pulled first when missing (--pull=missing) or every time
  // (always); a failed pull is reported where the image is needed.
  std::set<std::string> pulled;
  plan_options.base_image = [&](const std::string& ref) -> std::optional<BaseImageInfo> {
    bool fresh = options.pull == "always" && !pulled.count(ref);
    if (!fresh) {
      if (auto local = LookupBaseImage(req.root, ref)) return local;
    }
    if (options.pull == "never" || !pulled.insert(ref).second) return LookupBaseImage(req.root, ref);
    try {
      layers::registry::Reference r = layers::registry::Reference::Parse(ref);
      layers::registry::RegistryClient client(r.domain, registry_options);
      layers::OciLayout store(state.oci(), state.tmp());
      layers::registry::PullResult p = layers::registry::Pull(client, r, req.platform, store, state.tmp(),
                                                              {layers::NormalizeTag(ref)}, 4,
                                                              [&err](const std::string& line) { err << line << "\n"; });
      err << "pulled " << r.String() << " (" << p.manifest.digest.str() << ")\n";
    } catch (const std::exception& e) {
      req.pull_errors[ref] = e.what();
    }
    return LookupBaseImage(req.root, ref);
  };
  req.context_dir = fo.context;
  req.tags = options.tags;
  if (const char* epoch = std::getenv("SOURCE_DATE_EPOCH"); epoch && *epoch) {
    try {
      req.source_date_epoch = std::stoll(epoch);
    } catch (...) {
      err << "error: SOURCE_DATE_EPOCH must be a number of seconds, got \"" << epoch << "\"\n";
      return 2;
    }
  }
  try {
    gc_lock.emplace(GcLock::Shared(req.root));  // pulls, the build and the exports
    // Remote named contexts, as buildx: an image is pulled like a FROM image; a Git repository or
    // a tar archive at a URL becomes a directory for the build's time.
    for (auto& [name, value] : req.named_contexts) {
      if (value.rfind("docker-image://", 0) == 0) {
        plan_options.base_image(value.substr(std::string("docker-image://").size()));
      } else if (ClassifySource(value) != SourceKind::kLocal) {
        if (!remote_contexts) remote_contexts.emplace(state);
        RemoteOptions ro;
        ro.cache_dir = state.remote();
        ro.tmp_dir = remote_contexts->dir();
        ro.network = req.network != "none";
        ro.tls.verify = req.tls_verify;
        try {
          value = FetchContext(value, remote_contexts->NewDir("context-"), ro);
        } catch (const RemoteError& e) {
          err << "error: --build-context " << name << ": " << e.what() << "\n";
          return 1;
        }
      }
    }
    BuildfileSource src = LoadBuildfile(fo.file, fo.context);
    req.buildfile_path = src.path;
    req.buildfile_text = src.text;
    ast::File file = Parse(src.text, src.display_name);
    Program program = Lower(file);
    for (const Warning& w : program.warnings) {
      err << "warning: " << src.display_name << ":" << w.location.line << ": " << w.rule << ": " << w.message << "\n";
    }
    if (file.directives.check_config.error && !program.warnings.empty()) {
      err << "error: build check warnings and # check=error=true\n";
      return 1;
    }
    Plan plan = MakePlan(std::move(program), plan_options);
    for (const Warning& w : plan.warnings) {
      err << "warning: " << src.display_name << ":" << w.location.line << ": " << w.rule << ": " << w.message << "\n";
    }
    if (file.directives.check_config.error && !plan.warnings.empty()) {
      err << "error: build check warnings and # check=error=true\n";
      return 1;
    }
    if (!plan.unused_build_args.empty()) {
      std::string names;
      for (const std::string& n : plan.unused_build_args) names += (names.empty() ? "" : ", ") + n;
      err << "warning: build-arg(s) not consumed by any ARG: " << names << "\n";
    }
    auto t0 = std::chrono::steady_clock::now();
    status = MakeProgress(options.progress, err, 2);
    BuiltImage image = BuildImage(plan, req, *status);
    ran_steps = image.steps_run;
    layers::OciLayout store(state.oci(), state.tmp());
    std::vector<std::string> push_to;
    if (options.push) push_to = options.tags;
    for (const OutputSpec& o : outputs) {
      if (o.type == "image") {
        store.Tag(o.name, image.manifest);
        if (o.push) push_to.push_back(o.name);
        continue;
      }
      if (o.type == "local" || o.type == "tar") {
        if (o.type == "local") {
          layers::ExportRootfs(store, image.manifest, o.dest);
        } else {
          layers::ExportRootfsTar(store, image.manifest, o.dest, req.source_date_epoch);
        }
        status->Info("exported " + o.type + " to " + o.dest);
        continue;
      }
      layers::ExportFormat format = o.type == "docker" ? layers::ExportFormat::kDockerTar
                                    : o.tar            ? layers::ExportFormat::kOciTar
                                                       : layers::ExportFormat::kOciDir;
      layers::ExportOptions eo;
      eo.compression = compression;
      eo.level = options.compression_level;
      eo.memo_dir = state.compressed();
      layers::ExportImage(store, image.manifest, options.tags, format, o.dest, eo);
      status->Info("exported " + o.type + " to " + o.dest);
    }
    for (const std::string& name : push_to) {
      layers::registry::Reference dest = layers::registry::Reference::Parse(name);
      layers::registry::RegistryClient client(dest.domain, registry_options);
      layers::ExportOptions eo;
      eo.compression = compression;
      eo.level = options.compression_level;
      eo.memo_dir = state.compressed();
      layers::registry::PushResult p = layers::registry::Push(client, store, image.manifest, dest, eo, state.tmp());
      status->Info("pushed " + dest.String() + " (" + p.manifest.digest.str() + "): " + std::to_string(p.uploaded) +
                   " blobs uploaded, " + std::to_string(p.existed) + " already there");
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::ostringstream built;
    built << "built " << image.manifest.digest.str() << " in " << std::fixed << std::setprecision(3) << seconds << "s";
    status->Info(built.str());
    for (const std::string& t : options.tags) status->Info("tagged " + layers::NormalizeTag(t));
    status->Finish();
    if (!options.iidfile.empty()) layers::WriteFileAtomic(options.iidfile, image.config.digest.str());
    if (!options.metadata_file.empty()) {
      nlohmann::ordered_json md = {{"containerimage.digest", image.manifest.digest.str()},
                                   {"containerimage.config.digest", image.config.digest.str()},
                                   {"containerimage.descriptor", image.manifest.ToJson()}};
      if (!options.tags.empty()) {
        std::string names;
        for (const std::string& t : options.tags) names += (names.empty() ? "" : ",") + layers::NormalizeTag(t);
        md["image.name"] = names;
      }
      layers::WriteFileAtomic(options.metadata_file, md.dump(2) + "\n");
    }
    out << image.manifest.digest.str() << "\n";
    code = 0;
  } catch (const std::exception& e) {
    if (status) status->Finish();
    err << "error: " << e.what() << "\n";
  }
  gc_lock.reset();
  if (ran_steps != 0) ApplyCacheBound(req.root, cache_limit, err);
  return code;
}

}  // namespace imgbuild::builder
