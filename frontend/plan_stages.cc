// How the planner resolves stage bases and references, orders stages, prunes what the target
// does not need, checks for cycles and links the steps (the other half of
// frontend/detail/planner.h).
#include <algorithm>

#include "frontend/checks.h"
#include "frontend/detail/planner.h"
#include "frontend/suggest.h"
#include "frontend/words.h"

namespace imgbuild::frontend::detail {

std::optional<int> Planner::FindStage(const std::string& name, int before) const {
  // A name repeated in the file means its latest definition before `before` (BuildKit).
  std::string lower = AsciiLower(name);
  std::optional<int> found;
  for (const Stage& s : plan_.program.stages) {
    if (!s.name.empty() && s.name == lower && s.index < before) found = s.index;
  }
  if (found) return found;
  if (!name.empty() && std::all_of(name.begin(), name.end(), ::isdigit) && name.size() < 6) {
    int index = std::stoi(name);
    if (index < before) return index;
  }
  return std::nullopt;
}

void Planner::ResolveBase(const Stage& s) {
  PlannedStage& ps = plan_.stages[s.index];
  ps.index = s.index;
  ps.name = s.name;
  std::set<std::string> read;
  std::string base = Expand(s.base, GlobalLookup(), s.location, &read);
  for (const std::string& n : read) UseArg(meta_use_, n, s.location.line);
  if (base.empty()) {
    Fail(s.location, "the base image of this stage is empty after expanding \"" + s.base +
                         "\": give the ARG a default or pass --build-arg");
  }
  std::set<std::string> platform_read;
  ps.platform = s.platform.empty() ? "" : Expand(s.platform, GlobalLookup(), s.location, &platform_read);
  if (!s.platform.empty() && ps.platform.empty()) {
    // BuildKit's words, with its suggestion for a misspelt ARG.
    std::vector<std::string> known;
    for (const auto& [name, value] : platform_args_) known.push_back(name);
    for (const MetaArg& a : plan_.program.meta_args) known.push_back(a.decl.name);
    std::string hint;
    for (const std::string& n : platform_read) {
      if (!GlobalLookup()(n) && hint.empty()) hint = DidYouMean(n, known, "", false);
    }
    Fail(s.location, "empty platform value from expression " + s.platform + hint);
  }
  if (AsciiLower(base) == "scratch" || options_.scratch_contexts.count(base)) {
    ps.base.kind = BaseRef::kScratch;
  } else if (options_.named_contexts.count(base)) {
    ps.base.kind = BaseRef::kContext;  // a named context replaces a stage of its name too
    ps.base.ref = base;
  } else if (auto st = FindStage(base, s.index); st) {
    if (*st == s.index) Fail(s.location, "stage \"" + base + "\" cannot be built FROM itself");
    ps.base.kind = BaseRef::kStage;
    ps.base.stage = *st;
    ps.depends_on.insert(*st);
  } else {
    ps.base.kind = BaseRef::kImage;
    ps.base.ref = base;
  }
}

int Planner::ResolveTarget() {
  const auto& stages = plan_.program.stages;
  if (options_.target.empty()) return static_cast<int>(stages.size()) - 1;
  if (auto st = FindStage(options_.target, static_cast<int>(stages.size()))) return *st;
  std::vector<std::string> names;
  for (const Stage& s : stages) {
    if (!s.name.empty()) names.push_back(s.name);
  }
  std::string known;
  for (const std::string& n : names) known += (known.empty() ? "" : ", ") + n;
  throw ParseError(plan_.program.file, {},
                   "target stage \"" + options_.target + "\" could not be found" +
                       DidYouMean(options_.target, names) +
                       (known.empty() ? "; the Buildfile names no stages" : "; stages: " + known));
}

// Stages ordered so that every stage comes after the stage it is built FROM.
std::vector<int> Planner::BaseOrder() {
  const size_t n = plan_.stages.size();
  std::vector<int> order, mark(n, 0);
  std::function<void(int, std::vector<int>&)> visit = [&](int i, std::vector<int>& path) {
    if (mark[i] == 2) return;
    path.push_back(i);
    if (mark[i] == 1) CycleError(path);
    mark[i] = 1;
    if (plan_.stages[i].base.kind == BaseRef::kStage) visit(plan_.stages[i].base.stage, path);
    mark[i] = 2;
    path.pop_back();
    order.push_back(i);
  };
  for (size_t i = 0; i < n; ++i) {
    std::vector<int> path;
    visit(static_cast<int>(i), path);
  }
  return order;
}

void Planner::CycleError(const std::vector<int>& path) {
  int start = path.back();
  auto first = std::find(path.begin(), path.end(), start);
  std::string chain;
  for (auto it = first; it != path.end(); ++it) {
    const Stage& s = plan_.program.stages[*it];
    chain += (chain.empty() ? "" : " -> ") + (s.name.empty() ? std::to_string(s.index) : s.name);
  }
  const Stage& first_stage = plan_.program.stages[*first];
  Fail(plan_.program.stages[start].location,
       "circular dependency detected on stage: " + (first_stage.name.empty() ? std::to_string(first_stage.index) : first_stage.name) +
           " (" + chain + ")");
}

void Planner::MarkNeeded() {
  std::vector<int> stack{plan_.target};
  std::vector<int> post;
  std::vector<int> mark(plan_.stages.size(), 0);
  std::function<void(int)> visit = [&](int i) {
    if (mark[i]) return;
    mark[i] = 1;
    plan_.stages[i].needed = true;
    for (int d : plan_.stages[i].depends_on) visit(d);
    post.push_back(i);
  };
  visit(plan_.target);
  plan_.order = post;
}

void Planner::CheckCycles() {
  const size_t n = plan_.stages.size();
  std::vector<int> mark(n, 0);
  std::function<void(int, std::vector<int>&)> visit = [&](int i, std::vector<int>& path) {
    path.push_back(i);
    if (mark[i] == 1) CycleError(path);
    if (mark[i] == 2) {
      path.pop_back();
      return;
    }
    mark[i] = 1;
    for (int d : plan_.stages[i].depends_on) visit(d, path);
    mark[i] = 2;
    path.pop_back();
  };
  for (int i : plan_.order) {
    std::vector<int> path;
    visit(i, path);
  }
}

void Planner::Finish() {
  for (int i : plan_.order) {
    if (errors_[i]) throw *errors_[i];
  }
  // Number the steps of needed stages in build order and link them.
  for (int i : plan_.order) {
    StepId previous = -1;
    for (PlannedStep& step : stage_steps_[i]) {
      step.id = static_cast<StepId>(plan_.steps.size());
      if (previous >= 0) step.deps.push_back(previous);
      previous = step.id;
      plan_.stages[i].steps.push_back(step.id);
      plan_.steps.push_back(std::move(step));
    }
  }
  auto last_step = [&](int stage) -> StepId {
    // A stage with no instructions stands for its base: use the base stage's last step.
    for (int s = stage; s >= 0;) {
      if (!plan_.stages[s].steps.empty()) return plan_.stages[s].steps.back();
      s = plan_.stages[s].base.kind == BaseRef::kStage ? plan_.stages[s].base.stage : -1;
    }
    return -1;
  };
  for (int i : plan_.order) {
    PlannedStage& ps = plan_.stages[i];
    if (!ps.steps.empty() && ps.base.kind == BaseRef::kStage) {
      StepId base = last_step(ps.base.stage);
      if (base >= 0) plan_.steps[ps.steps.front()].deps.push_back(base);
    }
    for (StepId id : ps.steps) {
      PlannedStep& step = plan_.steps[id];
      std::set<int> from_stages;
      if (const auto* copy = std::get_if<CopyStep>(&step.op); copy && !copy->from.empty()) {
        if (auto st = FindStage(copy->from, i)) from_stages.insert(*st);
      }
      if (const auto* run = std::get_if<RunStep>(&step.op)) {
        for (const MountSpec& m : run->mounts) {
          if (auto st = FindStage(m.from, i)) from_stages.insert(*st);
        }
      }
      for (int s : from_stages) {
        StepId dep = last_step(s);
        if (dep >= 0 && std::find(step.deps.begin(), step.deps.end(), dep) == step.deps.end()) {
          step.deps.push_back(dep);
        }
      }
    }
  }
  for (const auto& [name, value] : options_.build_args) {
    if (!declared_.count(name) && !declared_meta_.count(name) && !IsPredefinedArg(name)) {
      plan_.unused_build_args.push_back(name);
    }
  }
  // Warnings of stages the target does not need, and of rules `# check=skip` names, go.
  const CheckConfig& check = plan_.program.directives.check_config;
  std::vector<Warning> kept;
  std::set<std::pair<int, std::string>> seen;
  for (Warning& w : plan_.warnings) {
    bool needed = false;
    for (int i : plan_.order) {
      const Stage& st = plan_.program.stages[i];
      if (w.location.line >= st.location.line &&
          w.location.line <= std::max(st.end_line, st.location.line))
        needed = true;
    }
    bool skipped = check.skip_all ||
                   std::find(check.skip.begin(), check.skip.end(), w.rule) != check.skip.end();
    if (needed && !skipped && seen.insert({w.location.line, w.message}).second)
      kept.push_back(std::move(w));
  }
  plan_.warnings = std::move(kept);
}

// What COPY --from / RUN --mount from= names: a named context, an earlier stage, or an image.
void Planner::AddSource(const std::string& from, const Stage& stage, const Instruction& instr,
                        PlannedStep& step, PlannedStage& ps, const char* what) {
  // A named context first (it replaces a stage of its name, as BuildKit), then a stage defined
  // before this one (BuildKit's testOutOfOrderStage); a number names a stage by index.
  if (options_.named_contexts.count(from)) {
    step.externals.push_back({ExternalInput::kNamedContext, from});
    return;
  }
  if (options_.scratch_contexts.count(from)) {
    Fail(instr.location, std::string(what) + "=" + from + " names the empty image (docker-image://scratch): nothing to copy");
  }
  const int stage_count = static_cast<int>(plan_.program.stages.size());
  if (auto st = FindStage(from, stage_count)) {
    const std::string current = stage.name.empty() ? "stage-" + std::to_string(stage.index) : stage.name;
    if (*st == stage.index) {
      Fail(instr.location, "circular dependency detected on stage: " + current + " (" + what + " names its own stage)");
    }
    if (*st > stage.index && !errors_[stage.index]) {
      // Reported after the cycle check, as BuildKit (a cycle through it is named as one).
      errors_[stage.index] = ParseError(plan_.program.file, instr.location,
                                        std::string(what == std::string("COPY --from") ? "cannot copy from stage \""
                                                                                      : "cannot mount from stage \"") +
                                            from + "\", it needs to be defined before current stage \"" + current + "\"",
                                        SourceLine(instr.location.line));
    }
    ps.depends_on.insert(*st);
    return;
  }
  if (!from.empty() && std::all_of(from.begin(), from.end(), ::isdigit)) {
    Fail(instr.location, std::string(what) + "=" + from + ": invalid stage index " + from + " (stages are numbered from 0)");
  }
  std::vector<std::string> names;
  for (const Stage& s : plan_.program.stages) {
    if (!s.name.empty()) names.push_back(s.name);
  }
  if (from.find_first_of("/:@.") == std::string::npos) {
    // A bare name that is no stage: an image (docker.io/library/NAME) or a named context. A
    // likely typo of a stage name is an error rather than a surprising pull.
    if (auto s = Suggest(from, names)) {
      Fail(instr.location,
           std::string(what) + "=" + from + " names no stage (did you mean " + *s + "?)");
    }
  }
  step.externals.push_back({ExternalInput::kImage, from});
}

}  // namespace imgbuild::frontend::detail
