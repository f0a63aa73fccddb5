#include "builder/solver/image_builder.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <fstream>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <random>
#include <semaphore>
#include <thread>
#include <set>

#include "builder/rootfs/copier.h"
#include "builder/rootfs/file_owner.h"
#include "builder/sandbox/run_command.h"
#include "builder/rootfs/rootfs_path.h"
#include "builder/ops/layer_step.h"
#include "builder/ops/copy_op.h"
#include "builder/ops/metadata_op.h"
#include "builder/ops/run_op.h"
#include "builder/ops/remote_source.h"
#include "builder/sandbox/run_step.h"
#include "builder/snapshot/active_snapshot.h"
#include "builder/snapshot/snapshotter.h"
#include "builder/solver/step_cache.h"
#include "builder/solver/step_keys.h"
#include "builder/solver/build_env.h"
#include "builder/solver/image_assembly.h"
#include "builder/solver/stage_state.h"
#include "builder/state/state_dir.h"
#include "builder/state/workspace.h"
#include "frontend/dockerignore.h"
#include "frontend/suggest.h"
#include "frontend/words.h"
#include "layers/applier.h"
#include "layers/image_export.h"
#include "layers/image_import.h"
#include "layers/layer_writer.h"
#include "layers/oci_layout.h"
#include "layers/sys_error.h"

namespace imgbuild::builder {
namespace {

namespace fs = std::filesystem;
using frontend::PlannedStep;
using layers::Descriptor;
using layers::Digest;
using layers::ImageConfig;

constexpr const char* kDefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";


std::string FirstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

class Builder : public Sources {
 public:
  Builder(const frontend::Plan& plan, const BuildRequest& req, Status& status)
      : env_(plan, req, status),
        status_(status),
        cache_(env_) {
    std::optional<std::string> ignore = frontend::FindIgnoreFile(req.buildfile_path, req.context_dir);
    if (ignore) {
      try {
        ignore_ = frontend::IgnoreMatcher(frontend::ReadIgnoreFile(layers::ReadFile(*ignore)));
      } catch (const frontend::IgnorePatternError& e) {
        throw BuildError(*ignore + ": " + e.what());
      }
    }
  }

  // Stages run as soon as the stages they read are done, several at once (one thread each,
  // at most `jobs` working); the first failure stops the others before their next step.
  BuiltImage Run() {
    for (const std::string& note : cache_.notes()) status_.Info(note);
    const int total = static_cast<int>(env_.plan.steps.size());
    unsigned jobs = env_.req.jobs > 0 ? static_cast<unsigned>(env_.req.jobs) : std::max(1u, std::thread::hardware_concurrency());
    std::counting_semaphore<64> slots(std::min<unsigned>(jobs, 64));
    std::vector<std::thread> threads;
    for (int s : env_.plan.order) {
      threads.emplace_back([this, s, total, &slots] {
        try {
          {
            std::unique_lock<std::mutex> lock(mu_);
            cv_.wait(lock, [&] {
              if (error_) return true;
              for (int d : env_.plan.stages[s].depends_on) {
                if (!done_.count(d)) return false;
              }
              return true;
            });
            if (error_) return;
          }
          slots.acquire();
          struct Release {
            std::counting_semaphore<64>& s;
            ~Release() { s.release(); }
          } release{slots};
          std::map<frontend::StepId, std::future<std::optional<cache::InputDigest>>> prefetched = PrefetchInputs(s);
          StageImage img = Base(s);
          bool ran_before = false;  // a step of this stage missed the cache
          for (frontend::StepId id : env_.plan.stages[s].steps) {
            if (Failed()) return;
            if (env_.req.interrupted && env_.req.interrupted->load()) throw BuildError("interrupted");
            const PlannedStep& step = env_.plan.steps[id];
            int n = ++started_;
            std::string label = "[" + StageLabel(s) + " " + std::to_string(n) + "/" + std::to_string(total) + "] " +
                                step.keyword + " " + ShownArgs(step);
            Report([&] { status_.StepStarted(n, label); });
            auto t0 = std::chrono::steady_clock::now();
            auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
            std::string detail;
            try {
              std::optional<std::optional<cache::InputDigest>> inputs;
              if (auto it = prefetched.find(id); it != prefetched.end()) inputs = it->second.get();
              StepKey key = Key(step, img, inputs);
              cache_.Used(s, key.key);
              if (std::optional<cache::CacheRecord> hit = UseCache(s) ? cache_.Lookup(key.key, img) : std::nullopt) {
                ApplyHit(step, img, *hit, n);
                img.key = key.key;
                Report([&] { status_.StepCached(n); });
                continue;
              }
              if (env_.req.explain_cache) {
                std::string why = !UseCache(s)        ? "the cache is off for this stage"
                                  : ran_before        ? "an earlier step of the stage ran"
                                                      : cache_.Explain(key, img.key, step.keyword);
                if (why.empty()) why = "no earlier build of this step after the same steps";
                Report([&] { status_.Info(label + ": " + why); });
              }
              ran_before = true;
              ++steps_run_;
              StageImage before = img;
              img.commit_as = CachedSnapshotName(key.key, env_.ws.name(), env_.ws.Next());
              detail = Step(step, img, n);
              img.commit_as.clear();
              cache_.Record(step, key, before, img);
              img.key = key.key;
            } catch (const std::exception& e) {
              Report([&] { status_.StepFailed(n, elapsed(), FirstLine(e.what())); });
              throw;
            }
            Report([&] { status_.StepDone(n, elapsed(), detail); });
          }
          std::lock_guard<std::mutex> lock(mu_);
          done_.emplace(s, std::move(img));
        } catch (...) {
          std::lock_guard<std::mutex> lock(mu_);
          if (!error_) error_ = std::current_exception();
          env_.MarkFailed();
        }
        cv_.notify_all();
      });
    }
    for (std::thread& t : threads) t.join();
    try {
      cache_.Flush();
    } catch (const std::exception& e) {
      Report([&] { status_.Info(std::string("warning: the file-digest memo was not saved: ") + e.what()); });
    }
    if (error_) std::rethrow_exception(error_);
    BuiltImage out = AssembleImage(env_, Done(env_.plan.target));
    out.steps_run = steps_run_;
    for (const cache::CacheTransferSpec& c : env_.req.cache_to) cache_.ExportTo(c);
    return out;
  }

 private:
  std::string NewKey(const char* what) { return env_.NewKey(what); }
  void LayerStep(StageImage& img, const std::string& created_by, const Fill& fill) {
    builder::LayerStep(env_, img, created_by, fill);
  }
  void LinkedLayerStep(StageImage& img, const std::string& created_by, const Fill& fill) {
    builder::LinkedLayerStep(env_, img, created_by, fill);
  }

  bool Failed() {
    std::lock_guard<std::mutex> lock(mu_);
    return error_ != nullptr;
  }

  StageImage Done(int stage) {
    std::lock_guard<std::mutex> lock(mu_);
    return done_.at(stage);
  }
  bool IsDone(int stage) {
    std::lock_guard<std::mutex> lock(mu_);
    return done_.count(stage) != 0;
  }

  template <typename F>
  void Report(F&& f) {
    env_.Report([&](Status&) { f(); });
  }

  std::string StageLabel(int s) const {
    const std::string& name = env_.plan.stages[s].name;
    return name.empty() ? "stage-" + std::to_string(s) : name;
  }

  [[noreturn]] void Fail(const PlannedStep& step, const std::string& message) { env_.Fail(step, message); }

  StageImage Base(int s) {
    const frontend::PlannedStage& ps = env_.plan.stages[s];
    StageImage img;
    switch (ps.base.kind) {
      case frontend::BaseRef::kScratch:
        img.config.platform = env_.req.platform;
        img.key = ScratchKey(PlatformText());
        break;
      case frontend::BaseRef::kStage:
        img = Done(ps.base.stage);
        img.base_manifest.reset();
        break;
      case frontend::BaseRef::kContext:
        img = FromContext(ps.base.ref, s);
        break;
      case frontend::BaseRef::kImage:
        img = FromStore(ps.base.ref, s);
        img.config.config.on_build.clear();  // triggers run in this build (the plan put them first)
        break;
    }
    if (img.config.config.env.empty()) img.config.config.env.push_back(kDefaultPath);
    return img;
  }

  static constexpr const char* kOciLayoutScheme = "oci-layout://";
  static constexpr const char* kImageScheme = "docker-image://";
  // A named context that is a directory (not an OCI layout or an image reference).
  static bool IsDirContext(const std::string& spec) { return spec.find("://") == std::string::npos; }

  // A named build context as a base: a directory becomes one layer; an OCI layout is loaded
  // into the local store and used as an image.
  StageImage FromContext(const std::string& name, int s) {
    const std::string& spec = env_.req.named_contexts.at(name);
    if (!IsDirContext(spec)) return FromStore(LoadContextImage(name), s);
    StageImage img;
    img.config.platform = env_.req.platform;
    CopyRequest r;
    r.src_root = spec;
    r.sources = {"."};
    r.dest = "/";
    StepKey key;
    key.key = DirectoryKey(cache_.Digest(SelectCopyInputs(r), Threads()), PlatformText());
    cache_.Used(s, key.key);
    if (std::optional<cache::CacheRecord> hit = cache_.Lookup(key.key, img); hit && hit->layer) {
      img.layers.push_back(*hit->layer);
      img.config.diff_ids.push_back(Digest::Parse(hit->diff_id));
      img.snapshot = hit->snapshot;
      img.config.history.push_back({hit->created, hit->created_by, "", false});
    } else {
      StageImage before = img;
      img.commit_as = CachedSnapshotName(key.key, env_.ws.name(), env_.ws.Next());
      LayerStep(img, "build context " + name, [&](const std::string& root) {
        r.lower_root = root;
        r.upper = root;
        Copy(r);
      });
      img.commit_as.clear();
      frontend::PlannedStep base;
      base.keyword = "FROM";
      cache_.Record(base, key, before, img);
    }
    img.key = key.key;
    return img;
  }

  // Loads oci-layout://PATH[:TAG] into the store once; returns the name it has there. A
  // docker-image://REF context is REF itself (pulled before the build, as FROM images are).
  std::string LoadContextImage(const std::string& name) {
    const std::string& full = env_.req.named_contexts.at(name);
    if (full.rfind(kImageScheme, 0) == 0) return full.substr(std::string(kImageScheme).size());
    std::string store_name = "imgbuild-context/" + name + ":latest";
    std::lock_guard<std::mutex> lock(context_mu_);
    if (loaded_contexts_.insert(name).second) {
      std::string spec = env_.req.named_contexts.at(name).substr(std::string(kOciLayoutScheme).size());
      std::string path = spec, tag;
      size_t colon = spec.find_last_of(':');
      if (colon != std::string::npos && spec.find('/', colon) == std::string::npos) {
        path = spec.substr(0, colon);
        tag = spec.substr(colon + 1);
      }
      layers::OciLayout source(path, env_.ws.NewDir("context-"));
      std::optional<Descriptor> m = tag.empty() ? std::optional<Descriptor>() : source.Find(tag);
      if (!m && tag.empty() && !source.Manifests().empty()) m = source.Manifests().front();
      if (!m) throw BuildError("build context " + name + ": no image " + (tag.empty() ? "" : "tagged " + tag + " ") + "in " + path);
      // Import through a one-image copy of the layout so every layer is checked like `load`.
      std::string copy = env_.ws.NewDir("context-layout-") + "/layout";
      layers::ExportOptions eo;
      eo.compression = layers::Compression::kUncompressed;
      layers::ExportImage(source, *m, {"latest"}, layers::ExportFormat::kOciDir, copy, eo);
      layers::ImportImages(env_.store, copy, store_name, env_.state.tmp());
    }
    return store_name;
  }

  StageImage FromStore(const std::string& ref, int s) {
    std::optional<Descriptor> m = env_.store.Find(ref);
    if (!m) {
      std::vector<std::string> stage_names;
      for (const auto& st : env_.plan.program.stages) {
        if (!st.name.empty()) stage_names.push_back(st.name);
      }
      std::string stage_hint;
      if (auto near = frontend::Suggest(ref, stage_names)) stage_hint = " (did you mean the stage " + *near + "?)";
      throw BuildError(env_.plan.program.file + ":" + std::to_string(env_.plan.program.stages[s].location.line) +
                       ": FROM " + ref + ": no such image in the local store (" + env_.state.oci() + ")" + stage_hint +
                       (env_.req.pull_errors.count(ref) ? ", and pulling it failed: " + env_.req.pull_errors.at(ref)
                                                    : "; pull it (--pull=missing), load it with `imgbuild load` or build it first"));
    }
    StageImage img;
    img.base_manifest = *m;
    img.base_name = layers::NormalizeTag(ref);
    img.key = ImageKey(m->digest.str(), PlatformText());
    nlohmann::json manifest = nlohmann::json::parse(env_.store.store().ReadBlob(m->digest));
    Descriptor config = Descriptor::FromJson(manifest.at("config"));
    img.config = ImageConfig::FromJson(nlohmann::json::parse(env_.store.store().ReadBlob(config.digest)));
    const auto& layer_list = manifest.at("layers");
    if (layer_list.size() != img.config.diff_ids.size()) {
      throw BuildError("image " + ref + " is inconsistent: " + std::to_string(layer_list.size()) + " layers, " +
                       std::to_string(img.config.diff_ids.size()) + " diff_ids");
    }
    // Each layer becomes a committed snapshot named by its chain ID, shared by every build.
    std::string chain, parent;
    for (size_t i = 0; i < layer_list.size(); ++i) {
      Descriptor d = Descriptor::FromJson(layer_list[i]);
      const Digest& diff_id = img.config.diff_ids[i];
      chain = i == 0 ? diff_id.str() : Digest::OfBytes(chain + " " + diff_id.str()).str();
      std::string key = ChainSnapshotName(chain.substr(7));
      std::lock_guard<std::mutex> lock(apply_mu_);
      if (!env_.snaps->Exists(key)) {
        Report([&] { status_.Info("unpacking layer " + d.digest.str() + " of " + ref); });
        ActiveSnapshot active(*env_.snaps, NewKey("extract"), parent);
        active.Apply(env_.store.store().BlobPath(d.digest));
        active.Commit(key);  // false: another build unpacked it meanwhile, and this copy goes
      }
      img.layers.push_back(d);
      parent = key;
    }
    img.snapshot = parent;
    return img;
  }

  void History(StageImage& img, const std::string& created_by, bool empty_layer) {
    img.History(env_.created, created_by, empty_layer);
  }

  std::string Step(const PlannedStep& step, StageImage& img, int n) {
    return std::visit(
        [&](const auto& op) -> std::string {
          using T = std::decay_t<decltype(op)>;
          if constexpr (std::is_same_v<T, frontend::MetadataStep>) {
            ApplyMetadata(step, op, img.config, env_.created);
            return "";
          } else if constexpr (std::is_same_v<T, frontend::WorkdirStep>) {
            img.config.config.working_dir = step.workdir;
            return ExecWorkdir(env_, step, img);
          } else if constexpr (std::is_same_v<T, frontend::CopyStep>) {
            return copy_op_.Exec(step, op, img);
          } else {
            return run_op_.Exec(step, op, img, n);
          }
        },
        step.op);
  }

  using SourceRoots = Sources::Keep;
  std::string Root(const std::string& from, int stage, Keep& keep) override { return FromRoot(from, stage, keep); }
  std::string FilteredContext() override { return ContextRoot(); }

  // The host directory whose files `from` names: a finished stage's or an image's root (mounted
  // into `keep`), or a named directory context.
  std::string FromRoot(const std::string& from, int stage_index, SourceRoots& keep) {
    std::optional<int> stage = StageNamed(from);
    auto nc = env_.req.named_contexts.find(from);
    std::string snapshot;
    if (stage && IsDone(*stage)) {
      snapshot = Done(*stage).snapshot;
    } else if (nc != env_.req.named_contexts.end() && IsDirContext(nc->second)) {
      return nc->second;  // a named directory context
    } else {
      snapshot = FromStore(nc != env_.req.named_contexts.end() ? LoadContextImage(from) : from, stage_index).snapshot;
    }
    keep.views.push_back(std::make_unique<SnapshotView>(env_, snapshot));
    return keep.views.back()->path();
  }

  // The build context as RUN --mount sees it: without what .dockerignore excludes (a filtered
  // copy, made once per build, when there is a .dockerignore).
  std::string ContextRoot() {
    if (ignore_.empty()) return env_.req.context_dir;
    std::lock_guard<std::mutex> lock(context_mu_);
    if (filtered_context_.empty()) {
      std::string dir = env_.ws.NewDir("context-");
      CopyRequest r;
      r.src_root = env_.req.context_dir;
      r.ignore = &ignore_;
      r.sources = {"."};
      r.dest = "/";
      r.lower_root = dir;
      r.upper = dir;
      Copy(r);
      filtered_context_ = dir;
    }
    return filtered_context_;
  }

  bool Interrupted() const { return env_.Interrupted(); }

  // A step's arguments as the progress shows them: exec forms as JSON, like the Buildfile.
  std::string ShownArgs(const PlannedStep& step) const {
    const auto* run = std::get_if<frontend::RunStep>(&step.op);
    const auto* meta = std::get_if<frontend::MetadataStep>(&step.op);
    if ((run && run->exec_form) || (meta && meta->exec_form)) return JsonArray(step.words);
    std::string shown = Join(step.words);
    if (run && !run->heredocs.empty()) shown = shown.substr(0, shown.find('\n'));
    return shown;
  }

  const frontend::Instruction& Instr(const PlannedStep& step) const { return env_.Instr(step); }

  // What every base key covers besides the base: the platform, and SOURCE_DATE_EPOCH (it changes
  // layer bytes and history times, so results made with another value never match).
  std::string PlatformText() const {
    std::string text = env_.req.platform.os + "/" + env_.req.platform.architecture +
                       (env_.req.platform.variant.empty() ? "" : "/" + env_.req.platform.variant);
    if (env_.req.source_date_epoch) text += " epoch " + std::to_string(*env_.req.source_date_epoch);
    return text;
  }

  static unsigned Threads() { return BuildEnv::Threads(); }

  bool UseCache(int stage) const {
    if (env_.req.no_cache) return false;
    const std::string& name = env_.plan.stages[stage].name;
    return !env_.req.no_cache_stages.count(std::to_string(stage)) && (name.empty() || !env_.req.no_cache_stages.count(name));
  }

  std::optional<int> StageNamed(const std::string& from) const {
    for (const auto& ps : env_.plan.stages) {
      if (!ps.name.empty() && ps.name == frontend::AsciiLower(from)) return ps.index;
    }
    if (!from.empty() && from.size() < 6 && from.find_first_not_of("0123456789") == std::string::npos) {
      return std::stoi(from);
    }
    return std::nullopt;
  }

  // What identifies the files a `from` names: a stage's key, an image's manifest digest, a
  // named directory's content.
  std::string FromKey(const std::string& from) {
    if (std::optional<int> st = StageNamed(from); st && IsDone(*st)) return Done(*st).key;
    auto nc = env_.req.named_contexts.find(from);
    if (nc != env_.req.named_contexts.end() && IsDirContext(nc->second)) {
      CopyRequest r;
      r.src_root = nc->second;
      r.sources = {"."};
      return DirectoryKey(cache_.Digest(SelectCopyInputs(r), Threads()), "");
    }
    std::string ref = nc != env_.req.named_contexts.end() ? LoadContextImage(from) : from;
    std::optional<Descriptor> m = env_.store.Find(ref);
    return m ? ImageKey(m->digest.str(), PlatformText()) : "missing image " + ref;
  }

  // The files a COPY/ADD reads from a directory (the build context or a named one), hashed.
  std::optional<cache::InputDigest> CopyInputs(const PlannedStep& step, const frontend::CopyStep& c) {
    CopyRequest r;
    if (!c.from.empty()) {
      auto nc = env_.req.named_contexts.find(c.from);
      bool dir_context = nc != env_.req.named_contexts.end() && IsDirContext(nc->second) && !StageNamed(c.from);
      if (!dir_context) return std::nullopt;  // a stage or an image: its key stands for its files
      r.src_root = nc->second;
    } else {
      r.src_root = env_.req.context_dir;
      r.ignore = &ignore_;
    }
    for (const std::string& src : c.sources) {
      // Remote sources count by what they resolve to (RemoteInputs), not as context files.
      if (ClassifySource(src) == SourceKind::kLocal) r.sources.push_back(src);
    }
    if (r.sources.empty()) return std::nullopt;
    r.excludes = c.excludes;
    r.parents = c.parents;
    try {
      return cache_.Digest(SelectCopyInputs(r), Threads());
    } catch (const CopyError& e) {
      Fail(step, e.what());
    }
  }

  // The inputs of the stage's COPY/ADD steps, hashed at once on every core while the stage starts
  // (they depend on the build context only).
  std::map<frontend::StepId, std::future<std::optional<cache::InputDigest>>> PrefetchInputs(int stage) {
    std::map<frontend::StepId, std::future<std::optional<cache::InputDigest>>> out;
    for (frontend::StepId id : env_.plan.stages[stage].steps) {
      const PlannedStep& step = env_.plan.steps[id];
      const auto* copy = std::get_if<frontend::CopyStep>(&step.op);
      if (!copy) continue;
      out.emplace(id, std::async(std::launch::async, [this, &step, copy] { return CopyInputs(step, *copy); }));
    }
    return out;
  }

  StepKey Key(const PlannedStep& step, const StageImage& img,
              const std::optional<std::optional<cache::InputDigest>>& prefetched = std::nullopt) {
    StepKeyInputs in;
    in.parent = img.key;
    in.config = &img.config;
    if (const auto* copy = std::get_if<frontend::CopyStep>(&step.op)) {
      if (!copy->from.empty()) in.from_keys[copy->from] = FromKey(copy->from);
      in.copy_inputs = prefetched ? *prefetched : CopyInputs(step, *copy);
      if (copy->add) in.remote_inputs = copy_op_.RemoteInputs(step, *copy);
    } else if (const auto* run = std::get_if<frontend::RunStep>(&step.op)) {
      in.network = run_op_.EffectiveNetwork(*run);
      for (size_t i = 0; i < run->mounts.size(); ++i) {
        const frontend::MountSpec& m = run->mounts[i];
        if (!m.from.empty()) {
          in.from_keys[m.from] = FromKey(m.from);
        } else if (m.type == frontend::MountType::kBind) {
          CopyRequest r;
          r.src_root = env_.req.context_dir;
          r.ignore = &ignore_;
          r.sources = {m.source.empty() ? "." : m.source};
          try {
            in.mount_inputs[i] = cache_.Digest(SelectCopyInputs(r), Threads());
          } catch (const CopyError&) {
            // a missing bind source fails when the step runs, with its own message
          }
        }
      }
    }
    return MakeStepKey(step, in);
  }

  // A cached step: its layer and snapshot as recorded; config-only steps are applied again
  // (cheap and exact) with the recorded history time.
  void ApplyHit(const PlannedStep& step, StageImage& img, const cache::CacheRecord& rec, int n) {
    if (!std::holds_alternative<frontend::MetadataStep>(step.op)) {
      if (std::holds_alternative<frontend::WorkdirStep>(step.op)) img.config.config.working_dir = step.workdir;
      if (rec.layer) {
        img.layers.push_back(*rec.layer);
        img.config.diff_ids.push_back(Digest::Parse(rec.diff_id));
        img.snapshot = rec.snapshot;
      }
      img.config.history.push_back({rec.created, rec.created_by, "", rec.empty_layer});
      return;
    }
    Step(step, img, n);
    if (!img.config.history.empty()) img.config.history.back().created = rec.created;
  }

  BuildEnv env_;
  Status& status_;  // through Report() only
  frontend::IgnoreMatcher ignore_;
  StepCache cache_;
  std::set<std::string> loaded_contexts_;
  std::string filtered_context_;
  RunOp run_op_{env_, *this};
  CopyOp copy_op_{env_, *this, ignore_};
  std::mutex mu_;  // done_ and error_
  std::condition_variable cv_;
  std::map<int, StageImage> done_;
  std::exception_ptr error_;
  std::atomic<int> started_{0};
  std::atomic<int> steps_run_{0};
  std::mutex apply_mu_, context_mu_;
};

}  // namespace

std::optional<frontend::BaseImageInfo> LookupBaseImage(const std::string& root, const std::string& ref) {
  StateDir state(root);
  layers::OciLayout store(state.oci(), state.tmp());
  std::optional<Descriptor> m = store.Find(ref);
  if (!m) return std::nullopt;
  nlohmann::json manifest = nlohmann::json::parse(store.store().ReadBlob(m->digest));
  Descriptor config = Descriptor::FromJson(manifest.at("config"));
  ImageConfig ic = ImageConfig::FromJson(nlohmann::json::parse(store.store().ReadBlob(config.digest)));
  frontend::BaseImageInfo info;
  info.env = ic.config.env;
  info.workdir = ic.config.working_dir;
  info.user = ic.config.user;
  info.shell = ic.config.shell;
  info.on_build = ic.config.on_build;
  return info;
}

BuiltImage BuildImage(const frontend::Plan& plan, const BuildRequest& request, Status& status) {
  return Builder(plan, request, status).Run();
}

}  // namespace imgbuild::builder
