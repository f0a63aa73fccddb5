#include "frontend/detail/step_typing.h"

#include <map>

namespace imgbuild::frontend {

std::string NetworkModeName(NetworkMode m) {
  return m == NetworkMode::kNone ? "none" : m == NetworkMode::kHost ? "host" : "default";
}

namespace detail {

MetadataKind MetadataKindOf(const std::string& keyword) {
  static const std::map<std::string, MetadataKind> kKinds = {
      {"ENV", MetadataKind::kEnv},         {"LABEL", MetadataKind::kLabel},
      {"ARG", MetadataKind::kArg},         {"USER", MetadataKind::kUser},
      {"CMD", MetadataKind::kCmd},         {"ENTRYPOINT", MetadataKind::kEntrypoint},
      {"SHELL", MetadataKind::kShell},     {"EXPOSE", MetadataKind::kExpose},
      {"VOLUME", MetadataKind::kVolume},   {"STOPSIGNAL", MetadataKind::kStopSignal},
      {"MAINTAINER", MetadataKind::kMaintainer}, {"ONBUILD", MetadataKind::kOnbuild},
      {"HEALTHCHECK", MetadataKind::kHealthcheck}};
  auto it = kKinds.find(keyword);
  return it == kKinds.end() ? MetadataKind::kArg : it->second;
}

CopyStep TypeCopy(const CopyInstr& c, const Expander& expand,
                  const std::function<std::string(const CopySource&)>& heredoc, std::vector<std::string>& words) {
  CopyStep copy;
  copy.add = c.is_add;
  copy.link = c.link;
  copy.parents = c.parents;
  copy.keep_git_dir = c.keep_git_dir;
  copy.unpack = c.unpack;
  for (const CopySource& s : c.sources) {
    words.push_back(s.heredoc ? s.path : expand(s.path));
    if (s.heredoc) {
      copy.heredocs.emplace_back(s.path, heredoc(s));
    } else {
      copy.sources.push_back(words.back());
    }
  }
  words.push_back(expand(c.dest));
  copy.dest = words.back();
  if (!c.chown.empty()) copy.chown = expand(c.chown);
  if (!c.chmod.empty()) copy.chmod = expand(c.chmod);
  if (!c.checksum.empty()) copy.checksum = expand(c.checksum);
  for (const std::string& e : c.excludes) copy.excludes.push_back(expand(e));
  if (!c.from.empty()) copy.from = expand(c.from);
  return copy;
}

RunStep TypeRun(const RunInstr& r) {
  RunStep run;
  run.cmd = r.cmd;
  run.exec_form = r.exec_form;
  run.heredocs = r.heredocs;
  run.network = r.network == "none" ? NetworkMode::kNone : r.network == "host" ? NetworkMode::kHost : NetworkMode::kDefault;
  run.insecure = r.security == "insecure";
  return run;
}

MetadataStep TypeUnexpanded(const Instruction& instr, std::vector<std::string>& words) {
  MetadataStep meta{MetadataKindOf(instr.keyword)};
  if (const auto* c = std::get_if<CmdInstr>(&instr.op)) {
    words = c->cmd;
    meta.exec_form = c->exec_form;
  }
  if (const auto* h = std::get_if<HealthcheckInstr>(&instr.op)) {
    words = h->test;
    meta.interval_ns = h->interval_ns.value_or(0);
    meta.timeout_ns = h->timeout_ns.value_or(0);
    meta.start_period_ns = h->start_period_ns.value_or(0);
    meta.start_interval_ns = h->start_interval_ns.value_or(0);
    meta.retries = h->retries.value_or(0);
  }
  if (const auto* o = std::get_if<OnbuildInstr>(&instr.op)) words = {o->expression};
  return meta;
}

}  // namespace detail
}  // namespace imgbuild::frontend
