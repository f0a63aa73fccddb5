#include "frontend/ast_json.h"

namespace imgbuild::frontend {
namespace {

using Json = nlohmann::ordered_json;

Json NodeJson(const ast::Node& n) {
  Json j;
  j["keyword"] = n.keyword;
  j["line"] = n.location.line;
  j["end_line"] = n.end_line;
  Json flags = Json::object();
  for (const ast::Flag& f : n.flags) {
    Json v = f.value ? Json(*f.value) : Json(true);
    if (f.name == "mount" || f.name == "exclude") {
      if (!flags.contains(f.name)) flags[f.name] = Json::array();
      flags[f.name].push_back(v);
    } else {
      flags[f.name] = v;
    }
  }
  j["flags"] = flags;
  j["form"] = n.json ? "exec" : "shell";
  Json args = Json::array();
  if (!n.pairs.empty()) {
    for (const ast::KeyValue& kv : n.pairs) args.push_back(kv.key + "=" + kv.value);
  } else {
    for (const std::string& a : n.args) args.push_back(a);
  }
  j["args"] = args;
  Json heredocs = Json::array();
  for (const ast::Heredoc& h : n.heredocs) {
    heredocs.push_back({{"name", h.name}, {"content", h.content}, {"expand", h.expand}, {"strip_tabs", h.strip_tabs}});
  }
  j["heredocs"] = heredocs;
  if (n.inner) j["instruction"] = NodeJson(*n.inner);
  return j;
}

}  // namespace

Json WarningJson(const Warning& w) {
  return {{"rule", w.rule}, {"message", w.message}, {"line", w.location.line}, {"url", w.url}};
}

Json ParseDocument(const ast::File& file, const Program& program) {
  Json doc;
  Json directives = Json::object();
  if (file.directives.syntax) directives["syntax"] = *file.directives.syntax;
  if (file.directives.escape_value) directives["escape"] = *file.directives.escape_value;
  if (file.directives.check) directives["check"] = *file.directives.check;
  doc["directives"] = directives;
  Json args = Json::array();
  for (const MetaArg& a : program.meta_args) {
    args.push_back({{"name", a.decl.name},
                    {"default", a.decl.default_value ? Json(*a.decl.default_value) : Json(nullptr)},
                    {"line", a.location.line}});
  }
  doc["args"] = args;
  Json stages = Json::array();
  size_t node_index = 0;
  int stage_index = -1;
  Json* current = nullptr;
  for (const ast::Node& n : file.nodes) {
    ++node_index;
    if (n.keyword == "FROM") {
      const Stage& s = program.stages[++stage_index];
      stages.push_back({{"index", s.index},
                        {"name", s.name.empty() ? Json(nullptr) : Json(s.name)},
                        {"base", s.base},
                        {"platform", s.platform.empty() ? Json(nullptr) : Json(s.platform)},
                        {"line", s.location.line},
                        {"instructions", Json::array()}});
      current = &stages.back();
      continue;
    }
    if (current) (*current)["instructions"].push_back(NodeJson(n));
  }
  doc["stages"] = stages;
  Json warnings = Json::array();
  for (const Warning& w : program.warnings) warnings.push_back(WarningJson(w));
  doc["warnings"] = warnings;
  return doc;
}

Json OutlineDocument(const Plan& plan) {
  Json doc;
  const Program& p = plan.program;
  auto stage_name = [&](int i) {
    const Stage& s = p.stages[i];
    return s.name.empty() ? Json(i) : Json(s.name);
  };
  doc["target"] = stage_name(plan.target);
  Json stages = Json::array();
  for (int i : plan.order) {
    const PlannedStage& ps = plan.stages[i];
    const Stage& s = p.stages[i];
    Json base;
    switch (ps.base.kind) {
      case BaseRef::kScratch: base = {{"type", "scratch"}}; break;
      case BaseRef::kImage: base = {{"type", "image"}, {"ref", ps.base.ref}}; break;
      case BaseRef::kStage: base = {{"type", "stage"}, {"stage", stage_name(ps.base.stage)}}; break;
      case BaseRef::kContext: base = {{"type", "context"}, {"name", ps.base.ref}}; break;
    }
    Json deps = Json::array();
    for (int d : ps.depends_on) deps.push_back(stage_name(d));
    Json st = {{"index", i}, {"name", s.name.empty() ? Json(nullptr) : Json(s.name)}, {"line", s.location.line},
               {"base", base}, {"platform", ps.platform.empty() ? Json(nullptr) : Json(ps.platform)},
               {"depends_on", deps}, {"steps", ps.steps.size()}};
    if (!s.comments.empty()) st["description"] = s.comments.back();
    stages.push_back(st);
  }
  doc["stages"] = stages;
  Json skipped = Json::array();
  for (const PlannedStage& ps : plan.stages) {
    if (!ps.needed) {
      skipped.push_back({{"index", ps.index}, {"name", ps.name.empty() ? Json(nullptr) : Json(ps.name)},
                         {"line", p.stages[ps.index].location.line}});
    }
  }
  doc["skipped"] = skipped;
  Json args = Json::array();
  for (const ArgUse& a : plan.args) {
    if (!a.global) {
      // Stage ARGs only count for stages the target builds.
      bool needed = false;
      for (const PlannedStage& ps : plan.stages) {
        const Stage& s = p.stages[ps.index];
        if (ps.needed && a.location.line >= s.location.line && a.location.line <= s.end_line) needed = true;
      }
      if (!needed) continue;
    }
    args.push_back({{"name", a.name}, {"global", a.global},
                    {"default", a.default_value ? Json(*a.default_value) : Json(nullptr)},
                    {"value", a.value ? Json(*a.value) : Json(nullptr)},
                    {"line", a.location.line}, {"used_on_lines", a.used_on_lines}});
  }
  doc["args"] = args;
  Json secrets = Json::array(), ssh = Json::array();
  for (const SecretUse& s : plan.secrets) {
    (s.ssh ? ssh : secrets).push_back({{"id", s.id}, {"required", s.required}, {"lines", s.lines}});
  }
  doc["secrets"] = secrets;
  doc["ssh"] = ssh;
  doc["unused_build_args"] = plan.unused_build_args;
  return doc;
}

}  // namespace imgbuild::frontend
