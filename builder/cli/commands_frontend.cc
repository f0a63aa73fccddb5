// `imgbuild parse` and `imgbuild outline`.
#include <cstdlib>

#include "builder/cli/buildfile_source.h"
#include "builder/cli/build_checks.h"
#include "builder/ops/metadata_op.h"
#include "builder/cli/commands.h"
#include "frontend/ast_json.h"
#include "frontend/lower.h"
#include "frontend/parser.h"
#include "frontend/plan.h"

namespace imgbuild::builder {
namespace {

using namespace imgbuild::frontend;

struct Loaded {
  ast::File file;
  Program program;
};

// Parses and lowers; prints warnings. Returns the exit code on failure.
std::optional<Loaded> Load(const FrontendOptions& options, std::ostream& err, int* code) {
  try {
    BuildfileSource src = LoadBuildfile(options.file, options.context);
    Loaded l;
    l.file = Parse(src.text, src.display_name);
    l.program = Lower(l.file);
    if (!ReportBuildChecks(src.display_name, l.program.warnings, l.file.directives.check_config.error, err)) {
      *code = 1;
      return std::nullopt;
    }
    return l;
  } catch (const BuildfileNotFound& e) {
    err << "error: " << e.what() << "\n";
    *code = 1;
  } catch (const ParseError& e) {
    ReportBuildChecks(e.file(), e.warnings(), false, err);
    err << "error: " << e.what() << "\n";
    *code = 1;
  }
  return std::nullopt;
}


}  // namespace

bool ParseBuildArgs(const std::vector<std::string>& args, std::map<std::string, std::string>& out, std::ostream& err) {
  for (const std::string& kv : args) {
    size_t eq = kv.find('=');
    std::string key = kv.substr(0, eq);
    if (key.empty()) {
      err << "error: --build-arg needs NAME=VALUE, got \"" << kv << "\"\n";
      return false;
    }
    if (eq != std::string::npos) {
      out[key] = kv.substr(eq + 1);
    } else if (const char* env = std::getenv(key.c_str())) {
      out[key] = env;
    }
  }
  return true;
}

int RunParse(const FrontendOptions& options, std::ostream& out, std::ostream& err) {
  int code = 0;
  std::optional<Loaded> l = Load(options, err, &code);
  if (!l) return code;
  if (options.json) {
    out << ParseDocument(l->file, l->program).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  for (const MetaArg& a : l->program.meta_args) {
    out << "ARG " << a.decl.name << (a.decl.default_value ? "=" + *a.decl.default_value : "") << "\n";
  }
  for (const Stage& s : l->program.stages) {
    out << "stage " << s.index << (s.name.empty() ? "" : " (" + s.name + ")") << ": FROM " << s.base
        << (s.platform.empty() ? "" : " --platform=" + s.platform) << "    # line " << s.location.line << "\n";
    for (const Instruction& i : s.instructions) {
      std::string text = i.original;
      if (text.size() > 100) text = text.substr(0, 97) + "...";
      out << "  " << i.location.line << ": " << text << "\n";
    }
  }
  return 0;
}

int RunOutline(const FrontendOptions& options, std::ostream& out, std::ostream& err) {
  PlanOptions plan_options;
  if (!ParseBuildArgs(options.build_args, plan_options.build_args, err)) return 2;
  plan_options.target = options.target;
  if (!options.platform.empty()) {
    try {
      plan_options.target_platform = options.platform == "local" ? PlatformSpec::Host() : PlatformSpec::Parse(options.platform);
    } catch (const std::invalid_argument& e) {
      err << "error: --platform: " << e.what() << "\n";
      return 2;
    }
  }
  int code = 0;
  std::optional<Loaded> l = Load(options, err, &code);
  if (!l) return code;
  Plan plan;
  try {
    plan = MakePlan(std::move(l->program), plan_options);
  } catch (const ParseError& e) {
    err << "error: " << e.what() << "\n";
    return 1;
  }
  if (!ReportBuildChecks(plan.program.file, plan.warnings, plan.program.directives.check_config.error, err)) return 1;
  if (options.json) {
    out << OutlineDocument(plan).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  const Program& p = plan.program;
  auto label = [&](int i) { return p.stages[i].name.empty() ? "stage " + std::to_string(i) : p.stages[i].name; };
  out << "target: " << label(plan.target) << "\n\nstages in build order:\n";
  for (int i : plan.order) {
    const PlannedStage& ps = plan.stages[i];
    std::string base = ps.base.kind == BaseRef::kScratch   ? "scratch"
                       : ps.base.kind == BaseRef::kStage   ? "stage " + label(ps.base.stage)
                       : ps.base.kind == BaseRef::kContext ? "build context " + ps.base.ref
                                                           : "image " + ps.base.ref;
    out << "  " << label(i) << " (line " << p.stages[i].location.line << "): from " << base
        << (ps.platform.empty() ? "" : " for " + ps.platform) << ", " << ps.steps.size() << " step(s)";
    if (!ps.depends_on.empty()) {
      std::vector<std::string> deps;
      for (int d : ps.depends_on) deps.push_back(label(d));
      out << ", needs " << Join(deps, ", ");
    }
    out << "\n";
  }
  std::vector<std::string> skipped;
  for (const PlannedStage& ps : plan.stages) {
    if (!ps.needed) skipped.push_back(label(ps.index));
  }
  if (!skipped.empty()) out << "\nskipped (not needed by the target): " << Join(skipped, ", ") << "\n";
  if (!plan.args.empty()) {
    out << "\nbuild arguments:\n";
    for (const ArgUse& a : plan.args) {
      out << "  " << a.name << (a.global ? " (global)" : "") << " = "
          << (a.value ? "\"" + *a.value + "\"" : std::string("<unset>"))
          << (a.default_value ? ", default \"" + *a.default_value + "\"" : std::string())
          << ", line " << a.location.line;
      if (!a.used_on_lines.empty()) {
        std::vector<std::string> lines;
        for (int n : a.used_on_lines) lines.push_back(std::to_string(n));
        out << ", used on line(s) " << Join(lines, ", ");
      }
      out << "\n";
    }
  }
  for (const SecretUse& s : plan.secrets) {
    out << (s.ssh ? "ssh: " : "secret: ") << s.id << (s.required ? " (required)" : "") << "\n";
  }
  if (!plan.unused_build_args.empty()) {
    err << "warning: build-arg(s) not consumed by any ARG: " << Join(plan.unused_build_args, ", ") << "\n";
  }
  return 0;
}

}  // namespace imgbuild::builder
