#include "frontend/plan.h"

#include <algorithm>
#include <cctype>
#include <functional>

#include "frontend/checks.h"
#include "frontend/detail/planner.h"
#include "frontend/detail/step_typing.h"
#include "frontend/dockerignore.h"
#include "frontend/lower.h"
#include "frontend/shell/lexer.h"
#include "frontend/suggest.h"
#include "frontend/words.h"

namespace imgbuild::frontend {
namespace detail {
namespace {

// The other spelling of a proxy ARG (http_proxy <-> HTTP_PROXY).
std::string OtherCase(const std::string& name) {
  std::string out = name;
  bool lower = std::islower(static_cast<unsigned char>(name[0]));
  for (char& c : out) c = static_cast<char>(lower ? std::toupper(static_cast<unsigned char>(c)) : std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace
}  // namespace detail

bool IsProxyArg(std::string_view name) {
  static const std::set<std::string, std::less<>> kProxy = {
      "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
      "ftp_proxy",  "NO_PROXY",   "no_proxy",    "ALL_PROXY",   "all_proxy"};
  return kProxy.count(name) != 0;
}

namespace detail {

Plan Planner::Run() {
  PlatformArgs();
  MetaArgs();
  const auto& stages = plan_.program.stages;
  plan_.stages.resize(stages.size());
  states_.resize(stages.size());
  stage_steps_.resize(stages.size());
  errors_.resize(stages.size());
  plan_.target = ResolveTarget();
  // TARGETSTAGE: the stage being built, "default" when it has no name (BuildKit).
  platform_args_["TARGETSTAGE"] = stages.empty() || stages[plan_.target].name.empty() ? "default" : stages[plan_.target].name;
  for (const Stage& s : stages) ResolveBase(s);
  std::vector<int> base_order = BaseOrder();
  for (int i : base_order) WalkStage(i);
  MarkNeeded();
  CheckCycles();
  Finish();
  return std::move(plan_);
}

void Planner::Fail(Location loc, const std::string& message) {
  throw ParseError(plan_.program.file, loc, message, SourceLine(loc.line));
}

std::string Planner::SourceLine(int line) const {
  // The plan keeps no source text; the caret line is the instruction's original text when the
  // location is an instruction's first line.
  for (const Stage& s : plan_.program.stages) {
    if (s.location.line == line) return s.original;
    for (const Instruction& i : s.instructions) {
      if (i.location.line == line && i.location.column == 1) return i.original;
    }
  }
  return {};
}

void Planner::PlatformArgs() {
  const PlatformSpec& t = target_platform_;
  const PlatformSpec& b = options_.build_platform;
  platform_args_ = {{"TARGETPLATFORM", t.ToString()},
                    {"TARGETOS", t.os},
                    {"TARGETARCH", t.arch},
                    {"TARGETVARIANT", t.variant},
                    {"BUILDPLATFORM", b.ToString()},
                    {"BUILDOS", b.os},
                    {"BUILDARCH", b.arch},
                    {"BUILDVARIANT", b.variant}};
}

std::string Planner::Expand(const std::string& word, const shell::Lookup& lookup, Location loc,
                            std::set<std::string>* read) {
  try {
    shell::LexOptions o;
    o.escape = plan_.program.directives.escape;
    shell::Expansion e = shell::Expand(word, lookup, o);
    if (read) {
      read->insert(e.matched.begin(), e.matched.end());
      read->insert(e.unmatched.begin(), e.unmatched.end());
    }
    return e.word;
  } catch (const shell::ExpandError& e) {
    Fail(loc, e.what());
  }
}

shell::Lookup Planner::GlobalLookup() {
  return [this](std::string_view name) -> std::optional<std::string> {
    auto it = meta_values_.find(std::string(name));
    if (it != meta_values_.end()) return it->second;
    auto p = platform_args_.find(std::string(name));
    if (p != platform_args_.end()) return p->second;
    return std::nullopt;
  };
}

void Planner::MetaArgs() {
  for (const MetaArg& a : plan_.program.meta_args) {
    ArgUse use;
    use.name = a.decl.name;
    use.default_value = a.decl.default_value;
    use.global = true;
    use.location = a.location;
    auto given = options_.build_args.find(a.decl.name);
    std::optional<std::string> value;
    if (given != options_.build_args.end()) {
      value = given->second;
    } else if (a.decl.default_value) {
      value = Expand(*a.decl.default_value, GlobalLookup(), a.location);
    } else if (auto p = platform_args_.find(a.decl.name); p != platform_args_.end()) {
      value = p->second;
    }
    if (value) {
      meta_values_[a.decl.name] = *value;
    } else {
      meta_values_.erase(a.decl.name);
    }
    declared_meta_.insert(a.decl.name);
    use.value = value;
    meta_use_[a.decl.name] = AddArgUse(std::move(use));
  }
}

// Records a declaration; returns its index in plan_.args.
size_t Planner::AddArgUse(ArgUse use) {
  plan_.args.push_back(std::move(use));
  return plan_.args.size() - 1;
}

// Marks `line` as a use of the declaration of `name` in `scope` (name -> index in plan_.args).
void Planner::UseArg(const std::map<std::string, size_t>& scope, const std::string& name,
                     int line) {
  auto it = scope.find(name);
  if (it == scope.end()) return;
  std::vector<int>& lines = plan_.args[it->second].used_on_lines;
  if (lines.empty() || lines.back() != line) lines.push_back(line);
}

void Planner::WalkStage(int index) {
  const Stage& stage = plan_.program.stages[index];
  PlannedStage& ps = plan_.stages[index];
  StageState& st = states_[index];
  if (ps.base.kind == BaseRef::kStage) {
    // ENV, WORKDIR, USER, SHELL and, as BuildKit since 0.15, the ARGs declared in the base stage
    // carry over; whether CMD was set does not (ENTRYPOINT resets an inherited CMD).
    st = states_[ps.base.stage];
    st.cmd_set = false;
    st.Invalidate();
    std::vector<std::string> on_build;
    for (const Instruction& i : plan_.program.stages[ps.base.stage].instructions) {
      if (const auto* o = std::get_if<OnbuildInstr>(&i.op)) on_build.push_back(o->expression);
    }
    const Stage& base = plan_.program.stages[ps.base.stage];
    InsertTriggers(index, ps, on_build, base.name.empty() ? "stage " + std::to_string(base.index) : base.name);
  }
  if (ps.base.kind == BaseRef::kImage || ps.base.kind == BaseRef::kContext) st.env_known = false;
  try {
    if (ps.base.kind == BaseRef::kImage && options_.base_image) BaseImage(index, st, ps);
    for (size_t k = 0; k < stage.instructions.size(); ++k) {
      WalkInstruction(stage, static_cast<int>(k), st, ps);
    }
    if (!stage_steps_[index].empty() && !stage_steps_[index].back().env) {
      Snapshot(st, stage_steps_[index].back().location);
      stage_steps_[index].back().env = st.env_list;
      stage_steps_[index].back().build_args = st.arg_list;
    }
  } catch (const ParseError& e) {
    if (!errors_[index]) errors_[index] = e;  // reported only if the target needs this stage
  }
}

// Starts the stage from the image's configuration and puts its ONBUILD triggers first.
void Planner::BaseImage(int index, StageState& st, PlannedStage& ps) {
  std::optional<BaseImageInfo> info = options_.base_image(ps.base.ref);
  if (!info) return;
  st.env_known = true;
  for (const std::string& kv : info->env) {
    size_t eq = kv.find('=');
    st.SetEnv(kv.substr(0, eq), eq == std::string::npos ? "" : kv.substr(eq + 1));
  }
  if (!info->workdir.empty()) st.workdir = info->workdir;
  st.user = info->user;
  if (info->shell && !info->shell->empty()) st.shell = *info->shell;
  InsertTriggers(index, ps, info->on_build, ps.base.ref);
}

// Puts the ONBUILD triggers of the stage's base (an image's config, or the ONBUILD lines of a
// base stage in this Buildfile) before its own instructions, as BuildKit runs them.
void Planner::InsertTriggers(int index, PlannedStage& ps, const std::vector<std::string>& on_build,
                             const std::string& origin) {
  Stage& stage = plan_.program.stages[index];
  std::vector<Instruction> triggers;
  for (const std::string& expr : on_build) {
    try {
      Program p = ParseProgram("FROM scratch\n" + expr + "\n", "ONBUILD trigger of " + origin);
      if (p.stages.size() != 1 || p.stages[0].instructions.size() != 1) {
        throw ParseError("", {}, "\"" + expr + "\" is not one instruction");
      }
      for (Instruction& i : p.stages.at(0).instructions) {
        i.location = stage.location;  // reported at the FROM that ran it
        triggers.push_back(std::move(i));
      }
    } catch (const ParseError& e) {
      Fail(stage.location, "ONBUILD trigger of " + origin + " is invalid: " + e.message());
    }
  }
  ps.triggers = static_cast<int>(triggers.size());
  stage.instructions.insert(stage.instructions.begin(), triggers.begin(), triggers.end());
}

shell::Lookup Planner::StageLookup(const StageState& st, std::set<std::string>* arg_reads) {
  return [&st, arg_reads](std::string_view name) -> std::optional<std::string> {
    if (const std::string* v = st.FindEnv(name)) return *v;
    for (auto it = st.args.rbegin(); it != st.args.rend(); ++it) {
      if (it->first == name) {
        if (arg_reads) arg_reads->insert(std::string(name));
        return it->second;
      }
    }
    return std::nullopt;
  };
}

void Planner::WalkInstruction(const Stage& stage, int k, StageState& st, PlannedStage& ps) {
  const Instruction& instr = stage.instructions[k];
  PlannedStep step;
  step.stage = stage.index;
  step.instruction = k;
  step.keyword = instr.keyword;
  step.location = instr.location;
  std::set<std::string> reads;
  shell::Lookup lookup = StageLookup(st, &reads);
  std::set<std::string> unset_reads;
  auto expansion = [&](const std::string& w) {
    try {
      shell::LexOptions o;
      o.escape = plan_.program.directives.escape;
      shell::Expansion e = shell::Expand(w, lookup, o);
      for (const std::string& n : e.unmatched) {
        // Only plain $NAME / ${NAME} uses: ${NAME:-default} and friends handle the unset case.
        if (w.find("$" + n) != std::string::npos || w.find("${" + n + "}") != std::string::npos) {
          unset_reads.insert(n);
        }
      }
      return e;
    } catch (const shell::ExpandError& e) {
      Fail(instr.location, e.what());
    }
  };
  auto expand = [&](const std::string& w) { return expansion(w).word; };
  const std::string& kw = instr.keyword;
  step.op = MetadataStep{detail::MetadataKindOf(kw)};

  if (kw == "ENV" || kw == "LABEL") {
    const auto& kv = std::get<KeyValuesInstr>(instr.op);
    std::vector<std::pair<std::string, std::string>> expanded;
    for (const ast::KeyValue& p : kv.pairs) expanded.emplace_back(expand(p.key), expand(p.value));
    for (const auto& kv_pair : expanded) {
      const std::string& key = kv_pair.first;
      const std::string& value = kv_pair.second;
      step.words.push_back(key + "=" + value);
      if (kw == "ENV") st.SetEnv(key, value);
    }
  } else if (kw == "ARG") {
    for (const ArgDecl& d : std::get<ArgInstr>(instr.op).args) {
      std::optional<std::string> value;
      auto given = options_.build_args.find(d.name);
      if (given != options_.build_args.end()) {
        value = given->second;
      } else if (d.default_value) {
        value = expand(*d.default_value);
      } else if (auto m = meta_values_.find(d.name); m != meta_values_.end()) {
        value = m->second;
      } else if (auto p = platform_args_.find(d.name); p != platform_args_.end()) {
        value = p->second;
      }
      st.args.emplace_back(d.name, value);
      declared_.insert(d.name);
      step.words.push_back(value ? d.name + "=" + *value : d.name);
      ArgUse use;
      use.name = d.name;
      use.default_value = d.default_value;
      use.value = value;
      use.location = instr.location;
      st.arg_use[d.name] = AddArgUse(std::move(use));
    }
  } else if (kw == "WORKDIR") {
    std::string wd = expand(std::get<ValueInstr>(instr.op).value);
    st.workdir = CleanSlashPath(wd.empty() || wd[0] != '/' ? st.workdir + "/" + wd : wd);
    step.words.push_back(wd);
    step.op = WorkdirStep{wd};
  } else if (kw == "USER") {
    st.user = expand(std::get<ValueInstr>(instr.op).value);
    step.words.push_back(st.user);
  } else if (kw == "STOPSIGNAL") {
    step.words.push_back(expand(std::get<ValueInstr>(instr.op).value));
  } else if (kw == "MAINTAINER") {
    step.words.push_back(std::get<ValueInstr>(instr.op).value);
  } else if (kw == "SHELL") {
    st.shell = std::get<ShellInstr>(instr.op).shell;
    step.words = st.shell;
  } else if (kw == "EXPOSE") {
    // Each argument is split into words after expansion, as BuildKit (PORTS="80 443/udp").
    for (const std::string& w : std::get<WordsInstr>(instr.op).words) {
      for (std::string& port : expansion(w).words) step.words.push_back(std::move(port));
    }
  } else if (kw == "VOLUME") {
    for (const std::string& w : std::get<WordsInstr>(instr.op).words)
      step.words.push_back(expand(w));
  } else if (kw == "COPY" || kw == "ADD") {
    const auto& c = std::get<CopyInstr>(instr.op);
    auto heredoc = [&](const CopySource& s) {
      if (!s.heredoc->expand) return s.heredoc->content;
      try {
        shell::LexOptions o;
        o.raw_quotes = true;
        return shell::Expand(s.heredoc->content, lookup, o).word;
      } catch (const shell::ExpandError& e) {
        Fail(instr.location, std::string("in heredoc ") + s.path + ": " + e.what());
      }
    };
    CopyStep copy = detail::TypeCopy(c, expand, heredoc, step.words);
    if (!c.from.empty()) {
      AddSource(copy.from, stage, instr, step, ps, "COPY --from");
    } else {
      bool only_heredocs = std::all_of(c.sources.begin(), c.sources.end(),
                                       [](auto& s) { return s.heredoc.has_value(); });
      if (!only_heredocs) step.externals.push_back({ExternalInput::kBuildContext, ""});
    }
    step.op = std::move(copy);
  } else if (kw == "RUN") {
    const auto& r = std::get<RunInstr>(instr.op);
    step.words = r.cmd;
    RunStep run = detail::TypeRun(r);
    for (const std::string& m : r.mounts) {
      MountSpec spec;
      try {
        spec = ParseMount(m, [&](const std::string& v) { return expand(v); });
      } catch (const MountError& e) {
        Fail(instr.location, std::string("bad --mount: ") + e.what());
      }
      if (spec.type == MountType::kSecret || spec.type == MountType::kSsh) {
        AddSecret(spec, instr.location.line);
      } else if (!spec.from.empty()) {
        AddSource(spec.from, stage, instr, step, ps, "RUN --mount from");
      } else if (spec.type == MountType::kBind) {
        step.externals.push_back({ExternalInput::kBuildContext, ""});
      }
      run.mounts.push_back(std::move(spec));
    }
    step.op = std::move(run);
  } else {  // CMD, ENTRYPOINT, HEALTHCHECK, ONBUILD: not expanded at build time
    MetadataStep meta = detail::TypeUnexpanded(instr, step.words);
    meta.cmd_set = st.cmd_set;
    if (meta.kind == MetadataKind::kCmd) st.cmd_set = true;
    step.op = meta;
  }

  if (kw == "ARG") st.arg_list.reset();
  // Only RUN reads the environment and the build args (and the stage's last step hands them
  // on, see WalkStage): a snapshot per ENV step would make N ENV lines cost N^2.
  if (std::holds_alternative<RunStep>(step.op)) {
    Snapshot(st, instr.location);
    step.env = st.env_list;
    step.build_args = st.arg_list;
  }
  for (const std::string& n : reads) {
    step.used_args.insert(n);
    UseArg(st.arg_use, n, instr.location.line);
  }
  if (st.env_known) {
    for (const std::string& n : unset_reads) {
      bool declared =
          std::any_of(st.args.begin(), st.args.end(), [&](const auto& a) { return a.first == n; });
      if (declared || (n.size() == 1 && !std::isalpha(static_cast<unsigned char>(n[0])))) continue;
      // The closest ENV or ARG in scope, as BuildKit suggests ($PAHT -> $PATH, $DIR_ASSET -> $DIR_ASSETS).
      std::vector<std::string> in_scope;
      for (const auto& e : st.env) in_scope.push_back(e.first);
      for (const auto& a : st.args) in_scope.push_back(a.first);
      std::string hint = DidYouMean(n, in_scope, "$", /*case_insensitive=*/false);
      plan_.warnings.push_back({"UndefinedVar", "Usage of undefined variable '$" + n + "'" + hint,
                                instr.location,
                                "https://docs.docker.com/go/dockerfile/rule/undefined-var/"});
    }
  }
  step.workdir = st.workdir;
  step.user = st.user;
  step.shell = st.shell;
  stage_steps_[stage.index].push_back(std::move(step));
}

void Planner::Snapshot(StageState& st, Location where) {
  // Each RUN holds its own copy of the environment: many ENV lines seen by many RUN steps would
  // cost their product in memory. Bounded, with an error naming the step.
  size_t adding = (st.env_list ? 0 : st.env.size()) + (st.arg_list ? 0 : st.args.size());
  if ((snapshot_entries_ += adding) > kMaxSnapshotEntries) {
    Fail(where, "the environment is too large: " + std::to_string(st.env.size()) + " ENV and " +
                    std::to_string(st.args.size()) + " ARG entries, seen by too many RUN steps (at most " +
                    std::to_string(kMaxSnapshotEntries) + " entries in all)");
  }
  if (!st.env_list) {
    auto env = std::make_shared<std::vector<std::string>>();
    for (const auto& [name, value] : st.env) env->push_back(name + "=" + value);
    st.env_list = std::move(env);
  }
  if (!st.arg_list) {
    std::set<std::string> seen;
    auto args = std::make_shared<std::vector<std::string>>();
    // The last declaration with a value wins; ENV shadows ARG. Names keep the place of their
    // first declaration (BuildKit's "RUN |2 foo=bar2 bar=123", moby/buildkit#5505).
    std::map<std::string, std::string> last_value;
    for (auto it = st.args.rbegin(); it != st.args.rend(); ++it) {
      if (it->second && !st.env_index.count(it->first)) last_value.emplace(it->first, *it->second);
    }
    for (const auto& decl : st.args) {
      auto found = last_value.find(decl.first);
      if (found != last_value.end() && seen.insert(decl.first).second) args->push_back(decl.first + "=" + found->second);
    }
    // Proxy ARGs reach RUN without a declaration (and never count in cache keys), in both
    // spellings as BuildKit's proxy environment sets them (http_proxy=X gives HTTP_PROXY=X too).
    for (const auto& [name, value] : options_.build_args) {
      if (!IsProxyArg(name)) continue;
      for (const std::string& n : {name, OtherCase(name)}) {
        if ((n == name || !options_.build_args.count(n)) && seen.insert(n).second) args->push_back(n + "=" + value);
      }
    }
    st.arg_list = std::move(args);
  }
}


void Planner::AddSecret(const MountSpec& spec, int line) {
  bool ssh = spec.type == MountType::kSsh;
  for (SecretUse& s : plan_.secrets) {
    if (s.id == spec.id && s.ssh == ssh) {
      s.required = s.required || spec.required;
      s.lines.push_back(line);
      return;
    }
  }
  plan_.secrets.push_back({spec.id, spec.required, ssh, {line}});
}

}  // namespace detail

Plan MakePlan(Program program, const PlanOptions& options) {
  return detail::Planner(std::move(program), options).Run();
}

}  // namespace imgbuild::frontend
