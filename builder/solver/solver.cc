#include "builder/solver/solver.h"

#include "layers/image_index.h"

#include "builder/solver/cache_explanation.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <semaphore>
#include <thread>

#include "builder/ops/copy_op.h"
#include "builder/ops/metadata_op.h"
#include "builder/ops/run_op.h"
#include "builder/solver/base_images.h"
#include "builder/solver/build_env.h"
#include "builder/solver/image_assembly.h"
#include "builder/solver/stage_results.h"
#include "builder/solver/stage_state.h"
#include "builder/solver/step_cache.h"
#include "builder/solver/step_inputs.h"
#include "builder/solver/step_keys.h"
#include "frontend/dockerignore.h"
#include "layers/oci_layout.h"

namespace imgbuild::builder {
namespace {

// Held while a step of that key is looked up, run and recorded (never forgotten: a process
// builds a bounded number of steps).
std::unique_lock<std::mutex> InflightStep(const std::string& key) {
  static std::mutex mu;
  static std::map<std::string, std::unique_ptr<std::mutex>> running;
  std::mutex* m;
  {
    std::lock_guard<std::mutex> lock(mu);
    std::unique_ptr<std::mutex>& slot = running[key];
    if (!slot) slot = std::make_unique<std::mutex>();
    m = slot.get();
  }
  return std::unique_lock<std::mutex>(*m);
}

}  // namespace
namespace {

using frontend::PlannedStep;
using layers::Descriptor;
using layers::Digest;
using layers::ImageConfig;

constexpr const char* kDefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";


std::string FirstLine(const std::string& s) { return s.substr(0, s.find('\n')); }

class Solver {
 public:
  Solver(const frontend::Plan& plan, const BuildRequest& req, Status& status, Executor& executor)
      : executor_(executor),
        env_(plan, req, status),
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
    int planned = 0;
    for (int s : env_.plan.order) planned += static_cast<int>(env_.plan.stages[s].steps.size());
    Report([&] { status_.Planned(planned); });
    // Default: every stage whose inputs are ready runs (as BuildKit); the kernel shares the cores.
    // A limit of the cores leaves a core idle at the tail of an odd number of CPU-bound stages
    // (README, Benchmarks: 3 stages on 2 cores take 2.0x one stage with a limit of 2, 1.5x without).
    unsigned jobs = env_.req.jobs > 0 ? static_cast<unsigned>(env_.req.jobs) : 64u;
    std::counting_semaphore<64> slots(std::min<unsigned>(jobs, 64));
    std::vector<std::thread> threads;
    for (int s : env_.plan.order) {
      threads.emplace_back([this, s, &slots] {
        try {
          {
            std::unique_lock<std::mutex> lock(mu_);
            cv_.wait(lock, [&] {
              if (error_) return true;
              for (int d : env_.plan.stages[s].depends_on) {
                if (!stages_.IsDone(d)) return false;
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
          StepInputs::Prefetched prefetched = inputs_.Prefetch(s);
          StageImage img = Base(s);
          bool ran_before = false;  // a step of this stage missed the cache
          // BuildKit numbers the steps of each stage, FROM counted first unless it is scratch.
          const int from_step = env_.plan.stages[s].base.kind == frontend::BaseRef::kScratch ? 0 : 1;
          const int stage_total = from_step + static_cast<int>(env_.plan.stages[s].steps.size());
          int stage_step = from_step;
          for (frontend::StepId id : env_.plan.stages[s].steps) {
            if (Failed()) return;
            if (env_.req.interrupted && env_.req.interrupted->load()) throw BuildError("interrupted");
            const PlannedStep& step = env_.plan.steps[id];
            int n = ++started_;
            ++stage_step;
            std::string label = "[" + StageLabel(s) + " " + std::to_string(stage_step) + "/" + std::to_string(stage_total) +
                                "] " + step.keyword + " " + ShownArgs(step);
            Report([&] { status_.StepStarted(n, label); });
            auto t0 = std::chrono::steady_clock::now();
            auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
            std::string detail;
            try {
              std::optional<std::optional<cache::InputDigest>> inputs;
              if (auto it = prefetched.find(id); it != prefetched.end()) inputs = it->second.get();
              std::vector<std::pair<std::string, std::string>> remote;
              if (const auto* copy = std::get_if<frontend::CopyStep>(&step.op); copy && copy->add) {
                remote = copy_op_.RemoteInputs(step, *copy);
              }
              if (const auto* run = std::get_if<frontend::RunStep>(&step.op)) run_op_.CheckEntitlements(step, *run);
              StepKey key = inputs_.Key(step, img, inputs, std::move(remote));
              cache_.Used(s, key.key);
              // A step of the same key running in another build of this process (another
              // platform of a multi-platform build) runs once: this one waits, then hits.
              std::unique_lock<std::mutex> running = InflightStep(key.key.str());
              if (std::optional<cache::CacheRecord> hit = UseCache(s) ? cache_.Lookup(key.key, img) : std::nullopt) {
                ApplyHit(step, img, *hit, n);
                img.key = key.key;
                Report([&] { status_.StepCached(n); });
                if (env_.req.explain_cache) explanation_.Add(s, StageLabel(s), label, "hit");
                continue;
              }
              if (env_.req.explain_cache) {
                std::string why = !UseCache(s)        ? "the cache is off for this stage"
                                  : ran_before        ? "an earlier step of the stage ran"
                                                      : cache_.Explain(key, img.key, step.keyword);
                if (why.empty()) why = "no earlier build of this step after the same steps";
                Report([&] { status_.Info(label + ": " + why); });
                explanation_.Add(s, StageLabel(s), label, (ran_before ? "ran: " : "MISS: ") + why);
              }
              ran_before = true;
              ++steps_run_;
              StageMark before = StageMark::Of(img);
              img.commit_as = CachedSnapshotName(key.key, env_.ws.name(), env_.ws.Next());
              img.reuse = UseCache(s);
              detail = Step(step, img, n);
              img.commit_as.clear();
              cache_.Record(step, key, before, img);
              img.key = key.key;
            } catch (const std::exception& e) {
              if (env_.req.interrupted && env_.req.interrupted->load()) {
                Report([&] { status_.StepCanceled(n, elapsed()); });
              } else {
                Report([&] { status_.StepFailed(n, elapsed(), FirstLine(e.what())); });
              }
              throw;
            }
            Report([&] { status_.StepDone(n, elapsed(), detail); });
          }
          stages_.Finish(s, std::move(img));
          std::lock_guard<std::mutex> lock(mu_);  // the waiters check under mu_
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
      Report([&] { status_.Warning(std::string("the file-digest memo was not saved: ") + e.what()); });
    }
    if (std::string tree = explanation_.Tree(env_.plan.order); !tree.empty()) Report([&] { status_.Info(tree); });
    if (error_) std::rethrow_exception(error_);
    BuiltImage out = AssembleImage(env_, Done(env_.plan.target));
    out.steps_run = steps_run_;
    out.build_ref = env_.ws.name();
    for (const cache::CacheTransferSpec& c : env_.req.cache_to) {
      if (env_.req.part_of_index) {
        out.cache_records.push_back(cache_.RecordsFor(c));
      } else {
        cache_.ExportTo(c);
      }
    }
    return out;
  }

 private:
  bool Failed() {
    std::lock_guard<std::mutex> lock(mu_);
    return error_ != nullptr;
  }

  StageImage Done(int stage) { return stages_.Done(stage); }

  template <typename F>
  void Report(F&& f) {
    env_.Report([&](Status&) { f(); });
  }

  std::string StageLabel(int s) const {
    const std::string& name = env_.plan.stages[s].name;
    return name.empty() ? "stage-" + std::to_string(s) : name;
  }

  StageImage Base(int s) {
    const frontend::PlannedStage& ps = env_.plan.stages[s];
    StageImage img;
    switch (ps.base.kind) {
      case frontend::BaseRef::kScratch:
        img.config.platform = bases_.StagePlatform(s);
        img.config.config.working_dir = "/";  // BuildKit's empty image has WorkingDir "/"
        img.key = ScratchKey(bases_.PlatformText(s));
        break;
      case frontend::BaseRef::kStage:
        img = Done(ps.base.stage);
        img.base_manifest.reset();
        img.config.config.on_build.clear();  // the base stage's triggers run in this stage
        break;
      case frontend::BaseRef::kContext:
        img = bases_.FromContext(ps.base.ref, s);
        break;
      case frontend::BaseRef::kImage:
        img = bases_.FromStore(ps.base.ref, s);
        img.config.config.on_build.clear();  // triggers run in this build (the plan put them first)
        break;
    }
    if (img.config.config.env.empty()) img.config.config.env.push_back(kDefaultPath);
    return img;
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

  // A step's arguments as the progress shows them: exec forms as JSON, like the Buildfile.
  std::string ShownArgs(const PlannedStep& step) const {
    const auto* run = std::get_if<frontend::RunStep>(&step.op);
    const auto* meta = std::get_if<frontend::MetadataStep>(&step.op);
    if ((run && run->exec_form) || (meta && meta->exec_form)) return JsonArray(step.words);
    std::string shown = Join(step.words);
    if (run && !run->heredocs.empty()) shown = shown.substr(0, shown.find('\n'));
    if (const auto* copy = std::get_if<frontend::CopyStep>(&step.op)) shown = CopyFlagsText(*copy) + shown;
    if (run) shown = RunFlagsText(step) + shown;
    return shown;
  }

  // RUN's flags as written ("--mount=type=cache,target=/root/.cache --network=none "), as
  // BuildKit's step names show the instruction.
  std::string RunFlagsText(const PlannedStep& step) const {
    const auto& stages = env_.plan.program.stages;
    if (step.stage < 0 || static_cast<size_t>(step.stage) >= stages.size()) return "";
    const auto& instructions = stages[static_cast<size_t>(step.stage)].instructions;
    if (step.instruction < 0 || static_cast<size_t>(step.instruction) >= instructions.size()) return "";
    const auto* run = std::get_if<frontend::RunInstr>(&instructions[static_cast<size_t>(step.instruction)].op);
    if (!run || instructions[static_cast<size_t>(step.instruction)].location.line != step.location.line) return "";
    std::string out;
    for (const std::string& m : run->mounts) out += "--mount=" + m + " ";
    if (run->network != "default") out += "--network=" + run->network + " ";
    if (run->security != "sandbox") out += "--security=" + run->security + " ";
    return out;
  }

  // COPY/ADD's flags as BuildKit's step names show them ("--from=base --chmod=0644 ").
  static std::string CopyFlagsText(const frontend::CopyStep& c) {
    std::string out;
    if (!c.from.empty()) out += "--from=" + c.from + " ";
    if (!c.chown.empty()) out += "--chown=" + c.chown + " ";
    if (!c.chmod.empty()) out += "--chmod=" + c.chmod + " ";
    if (c.link) out += "--link ";
    if (c.parents) out += "--parents ";
    for (const std::string& e : c.excludes) out += "--exclude=" + e + " ";
    if (!c.checksum.empty()) out += "--checksum=" + c.checksum + " ";
    if (c.keep_git_dir) out += "--keep-git-dir ";
    if (c.unpack) out += std::string("--unpack=") + (*c.unpack ? "true " : "false ");
    return out;
  }

  bool UseCache(int stage) const {
    if (env_.req.no_cache) return false;
    const std::string& name = env_.plan.stages[stage].name;
    return !env_.req.no_cache_stages.count(std::to_string(stage)) && (name.empty() || !env_.req.no_cache_stages.count(name));
  }

  // A cached step: its layer and snapshot as recorded; config-only steps are applied again
  // (cheap and exact) with the recorded history time.
  void ApplyHit(const PlannedStep& step, StageImage& img, const cache::CacheRecord& rec, int n) {
    if (!std::holds_alternative<frontend::MetadataStep>(step.op)) {
      if (std::holds_alternative<frontend::WorkdirStep>(step.op)) img.config.config.working_dir = step.workdir;
      if (rec.layer) {
        img.layers.push_back(*rec.layer);
        img.config.diff_ids.push_back(*rec.diff_id);
        img.snapshot = rec.snapshot;
      }
      img.config.history.push_back({rec.created, rec.created_by, "", rec.empty_layer});
      return;
    }
    Step(step, img, n);
    if (!img.config.history.empty()) img.config.history.back().created = rec.created;
  }

  Executor& executor_;
  BuildEnv env_;
  Status& status_;  // through Report() only
  frontend::IgnoreMatcher ignore_;
  StepCache cache_;
  BaseImages bases_{env_, cache_};
  StageResults stages_;
  StepInputs inputs_{env_, cache_, bases_, stages_, ignore_};
  RunOp run_op_{env_, inputs_, executor_};
  CopyOp copy_op_{env_, inputs_, ignore_};
  std::mutex mu_;  // error_, and the wait for stages to finish
  std::condition_variable cv_;
  std::exception_ptr error_;
  std::atomic<int> started_{0};
  std::atomic<int> steps_run_{0};
  CacheExplanation explanation_;  // --explain-cache
};

}  // namespace

std::optional<frontend::BaseImageInfo> LookupBaseImage(const std::string& root, const std::string& ref,
                                                       const layers::Platform& platform) {
  StateDir state(root);
  layers::OciLayout store = LocalStore(state);
  std::optional<Descriptor> m = store.Find(ref);
  if (!m) return std::nullopt;
  if (layers::IsIndex(m->media_type)) {
    // The build's platform's manifest (a stage of another platform resolves its own when it
    // runs; the configs of one image's platforms agree on what the plan reads).
    std::optional<Descriptor> pick = layers::SelectPlatform(store.store(), *m, platform);
    std::vector<Descriptor> entries = layers::IndexManifests(store.store(), *m);
    if (!pick && entries.empty()) return std::nullopt;
    m = pick ? *pick : entries.front();
  }
  layers::Manifest manifest = layers::Manifest::Parse(store.store().ReadBlob(m->digest));
  ImageConfig ic = ImageConfig::FromJson(nlohmann::json::parse(store.store().ReadBlob(manifest.config.digest)));
  frontend::BaseImageInfo info;
  info.env = ic.config.env;
  info.workdir = ic.config.working_dir;
  info.user = ic.config.user;
  info.shell = ic.config.shell;
  info.on_build = ic.config.on_build;
  return info;
}

BuiltImage BuildImage(const frontend::Plan& plan, const BuildRequest& request, Status& status, Executor& executor) {
  return Solver(plan, request, status, executor).Run();
}

BuiltImage BuildImage(const frontend::Plan& plan, const BuildRequest& request, Status& status) {
  std::unique_ptr<Executor> sandbox = NewSandboxExecutor();
  return BuildImage(plan, request, status, *sandbox);
}

}  // namespace imgbuild::builder
