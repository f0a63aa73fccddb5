#include "builder/solver/step_inputs.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "builder/ops/remote_source.h"
#include "builder/ops/copy_op.h"
#include "builder/ops/run_op.h"
#include "builder/rootfs/copier.h"
#include "frontend/words.h"
#include "layers/root_dir.h"

namespace imgbuild::builder {

using frontend::PlannedStep;
using layers::Descriptor;

// The host directory whose files `from` names: a finished stage's or an image's root (mounted
// into `keep`), or a named directory context.
std::string StepInputs::Root(const std::string& from, int stage_index, Keep& keep) {
  std::optional<int> stage = StageNamed(from);
  auto nc = env_.req.named_contexts.find(from);
  std::string snapshot;
  if (stage && stages_.IsDone(*stage)) {
    snapshot = stages_.Done(*stage).snapshot;
  } else if (nc != env_.req.named_contexts.end() && BaseImages::IsDirContext(nc->second)) {
    return nc->second;  // a named directory context
  } else {
    snapshot = bases_.FromStore(nc != env_.req.named_contexts.end() ? bases_.LoadContextImage(from) : from, stage_index).snapshot;
  }
  keep.views.push_back(std::make_unique<SnapshotView>(env_, snapshot));
  return keep.views.back()->path();
}

// The build context as RUN --mount sees it: without what .dockerignore excludes (a filtered
// copy, made once per build, when there is a .dockerignore).
std::string StepInputs::FilteredContext() {
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

std::optional<int> StepInputs::StageNamed(const std::string& from) const {
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
std::string StepInputs::FromKey(const std::string& from) {
  if (std::optional<int> st = StageNamed(from); st && stages_.IsDone(*st)) {
    std::optional<cache::CacheKey> key = stages_.Done(*st).key;
    return key ? key->str() : "";
  }
  auto nc = env_.req.named_contexts.find(from);
  if (nc != env_.req.named_contexts.end() && BaseImages::IsDirContext(nc->second)) {
    CopyRequest r;
    r.src_root = nc->second;
    r.sources = {"."};
    return DirectoryKey(cache_.Digest(SelectCopyInputs(r), BuildEnv::Threads()), "").str();
  }
  std::string ref = nc != env_.req.named_contexts.end() ? bases_.LoadContextImage(from) : from;
  std::optional<Descriptor> m = env_.store.Find(ref);
  return m ? ImageKey(m->digest.str(), bases_.PlatformText(-1)).str() : "missing image " + ref;
}

// A named directory context brings its own .dockerignore (BuildKit's testNamedLocalContext).
void StepInputs::LoadContextIgnores() {
  for (const auto& [name, spec] : env_.req.named_contexts) {
    if (!BaseImages::IsDirContext(spec)) continue;
    layers::RootDir dir(spec);
    struct stat st;
    if (!dir.Stat(".dockerignore", &st, /*follow_last=*/true) || !S_ISREG(st.st_mode)) continue;
    layers::UniqueFd fd = dir.Open(".dockerignore", O_RDONLY);
    try {
      context_ignores_.emplace(name, frontend::IgnoreMatcher(frontend::ReadIgnoreFile(
                                         layers::ReadFile(layers::RootDir::FdPath(fd.get())))));
    } catch (const frontend::IgnorePatternError& e) {
      throw BuildError("--build-context " + name + ": .dockerignore: " + e.what());
    }
  }
}

const frontend::IgnoreMatcher* StepInputs::ContextIgnore(const std::string& name) const {
  auto it = context_ignores_.find(name);
  return it == context_ignores_.end() ? nullptr : &it->second;
}

// The files a COPY/ADD reads from a directory (the build context or a named one), hashed.
std::optional<cache::InputDigest> StepInputs::CopyInputs(const PlannedStep& step, const frontend::CopyStep& c) {
  CopyRequest r;
  if (!c.from.empty()) {
    auto nc = env_.req.named_contexts.find(c.from);
    bool dir_context = nc != env_.req.named_contexts.end() && BaseImages::IsDirContext(nc->second) && !StageNamed(c.from);
    if (!dir_context) return std::nullopt;  // a stage or an image: its key stands for its files
    r = LocalCopyRequest(step, c, nc->second, ContextIgnore(c.from));
  } else {
    r = LocalCopyRequest(step, c, env_.req.context_dir, &ignore_);
  }
  if (r.sources.empty()) return std::nullopt;
  try {
    return cache_.Digest(SelectCopyInputs(r), BuildEnv::Threads());
  } catch (const CopyError& e) {
    env_.Fail(step, e.what());
  }
}

// The inputs of the stage's COPY/ADD steps, hashed at once on every core while the stage starts
// (they depend on the build context only).
StepInputs::Prefetched StepInputs::Prefetch(int stage) {
  Prefetched out;
  for (frontend::StepId id : env_.plan.stages[stage].steps) {
    const PlannedStep& step = env_.plan.steps[id];
    const auto* copy = std::get_if<frontend::CopyStep>(&step.op);
    if (!copy) continue;
    out.emplace(id, std::async(std::launch::async, [this, &step, copy] { return CopyInputs(step, *copy); }));
  }
  return out;
}

StepKey StepInputs::Key(const PlannedStep& step, const StageImage& img,
                        const std::optional<std::optional<cache::InputDigest>>& prefetched,
                        std::vector<std::pair<std::string, std::string>> remote_inputs) {
  StepKeyInputs in;
  in.parent = img.key;
  in.config = &img.config;
  if (const auto* copy = std::get_if<frontend::CopyStep>(&step.op)) {
    if (!copy->from.empty()) in.from_keys[copy->from] = FromKey(copy->from);
    in.copy_inputs = prefetched ? *prefetched : CopyInputs(step, *copy);
    in.remote_inputs = std::move(remote_inputs);
  } else if (const auto* run = std::get_if<frontend::RunStep>(&step.op)) {
    in.network = EffectiveNetwork(env_.req, *run);
    in.sandbox_options = env_.req.sandbox.KeyText();
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
          in.mount_inputs[i] = cache_.Digest(SelectCopyInputs(r), BuildEnv::Threads());
        } catch (const CopyError&) {
          // a missing bind source fails when the step runs, with its own message
        }
      }
    }
  }
  return MakeStepKey(step, in);
}

}  // namespace imgbuild::builder
