#include "builder/solver/step_keys.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "builder/sandbox/run_command.h"
#include "cache/cache_key.h"
#include "cache/explain.h"
#include "frontend/mount_spec.h"
#include "layers/json_bytes.h"

namespace imgbuild::builder {
namespace {

const std::set<std::string> kProxyArgs = {"HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY",
                                          "http_proxy", "https_proxy", "ftp_proxy", "no_proxy", "all_proxy"};

std::string Name(const std::string& kv) { return kv.substr(0, kv.find('=')); }
std::string Value(const std::string& kv) {
  size_t eq = kv.find('=');
  return eq == std::string::npos ? "" : kv.substr(eq + 1);
}

// Key material: every word kept byte for byte (a Buildfile word need not be UTF-8).
std::string Json(const std::vector<std::string>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (const std::string& w : v) a.push_back(layers::BytesToJsonString(w));
  return a.dump();
}

std::string MountText(const frontend::MountSpec& m) {
  std::string t = "type=" + std::string(frontend::MountTypeName(m.type)) + ",target=" + m.target;
  if (!m.source.empty()) t += ",source=" + m.source;
  if (!m.from.empty()) t += ",from=" + m.from;
  if (!m.id.empty()) t += ",id=" + m.id;
  if (m.env) t += ",env=" + *m.env;
  t += m.read_only ? ",ro" : ",rw";
  if (m.type == frontend::MountType::kCache) t += ",sharing=" + std::string(frontend::CacheSharingName(m.sharing));
  if (m.required) t += ",required";
  if (m.mode) t += ",mode=" + std::to_string(*m.mode);
  if (m.uid) t += ",uid=" + std::to_string(*m.uid);
  if (m.gid) t += ",gid=" + std::to_string(*m.gid);
  if (m.size) t += ",size=" + std::to_string(*m.size);
  return t;
}


}  // namespace

cache::CacheKey ScratchKey(const std::string& platform) {
  return cache::KeyBuilder("from-scratch").Field("platform", platform).Build();
}

cache::CacheKey ImageKey(const std::string& manifest_digest, const std::string& platform) {
  return cache::KeyBuilder("from-image").Field("manifest", manifest_digest).Field("platform", platform).Build();
}

cache::CacheKey DirectoryKey(const cache::InputDigest& content, const std::string& platform) {
  return cache::KeyBuilder("from-directory").Field("content", content.digest.str()).Field("platform", platform).Build();
}

StepKey MakeStepKey(const frontend::PlannedStep& step, const StepKeyInputs& in) {
  StepKey out;
  KeyFields& f = out.fields;
  const std::string& k = step.keyword;  // the key's domain (and what records show), not a dispatch
  auto from_key = [&](const std::string& from) {
    auto it = in.from_keys.find(from);
    return it == in.from_keys.end() ? from : it->second;
  };
  std::visit(
      [&](const auto& op) {
        using T = std::decay_t<decltype(op)>;
        if constexpr (std::is_same_v<T, frontend::MetadataStep>) {
          using K = frontend::MetadataKind;
          if (op.kind == K::kArg) {
            // Only the names: a value counts where a step uses it (its expanded words, or RUN's env).
            std::vector<std::string> names;
            for (const std::string& w : step.words) names.push_back(Name(w));
            f.emplace_back("args", Json(names));
          } else if (op.kind == K::kEnv || op.kind == K::kLabel) {
            for (const std::string& w : step.words) {
              f.emplace_back((op.kind == K::kEnv ? "env " : "label ") + Name(w), Value(w));
            }
          } else if (op.kind == K::kCmd || op.kind == K::kEntrypoint) {
            f.emplace_back("args", Json(step.words));
            if (!op.exec_form) f.emplace_back("shell", Json(step.shell));
          } else {
            f.emplace_back("args", Json(step.words));
          }
        } else if constexpr (std::is_same_v<T, frontend::WorkdirStep>) {
          f.emplace_back("path", step.workdir);
        } else if constexpr (std::is_same_v<T, frontend::CopyStep>) {
          f.emplace_back("sources and destination", Json(step.words));
          f.emplace_back("workdir", step.workdir);
          // The flags in the order (and with the names) keys have always had them.
          if (!op.checksum.empty()) f.emplace_back("--checksum", op.checksum);
          if (!op.chmod.empty()) f.emplace_back("--chmod", op.chmod);
          if (!op.chown.empty()) f.emplace_back("--chown", op.chown);
          if (!op.excludes.empty()) {
            std::string joined;
            for (const std::string& e : op.excludes) joined += (joined.empty() ? "" : "\n") + e;
            f.emplace_back("--exclude", joined);
          }
          if (!op.from.empty()) f.emplace_back("--from", from_key(op.from));
          if (op.link) f.emplace_back("--link", "true");
          if (op.parents) f.emplace_back("--parents", "true");
          if (op.unpack) f.emplace_back("--unpack", *op.unpack ? "true" : "false");
          if (op.keep_git_dir) f.emplace_back("--keep-git-dir", "true");
          for (const auto& [source, resolved] : in.remote_inputs) f.emplace_back("source " + source, resolved);
          for (const auto& [name, content] : op.heredocs) f.emplace_back("heredoc " + name, content);
          if (in.copy_inputs) {
            f.emplace_back("content", in.copy_inputs->digest.str());
            out.files = in.copy_inputs->files;
            out.files_path = in.copy_inputs->files_path;
          }
        } else {
          RunCommand cmd = MakeRunCommand(op, step.shell);
          f.emplace_back("command", Json(cmd.argv));
          for (const auto& [name, content] : cmd.scripts) f.emplace_back("script " + name, content);
          std::vector<std::string> args;
          if (step.build_args) {
            for (const std::string& a : *step.build_args) {
              if (!kProxyArgs.count(Name(a))) args.push_back(a);
            }
          }
          for (const std::string& e : MakeRunEnv(in.config->config.env, args, {}, "")) {
            if (Name(e) != "HOME" || !Value(e).empty()) f.emplace_back("env " + Name(e), Value(e));
          }
          f.emplace_back("user", in.config->config.user);
          f.emplace_back("workdir", step.workdir);
          f.emplace_back("network", in.network);
          f.emplace_back("security", op.insecure ? "insecure" : "sandbox");
          for (size_t i = 0; i < op.mounts.size(); ++i) {
            const frontend::MountSpec& m = op.mounts[i];
            std::string text = MountText(m);
            if (!m.from.empty()) text += " from " + from_key(m.from);
            if (auto it = in.mount_inputs.find(i); it != in.mount_inputs.end()) {
              text += " content " + it->second.digest.str();
            }
            f.emplace_back("mount " + std::to_string(i + 1), text);
          }
        }
      },
      step.op);
  cache::KeyBuilder b(k);
  b.Field("parent", in.parent ? in.parent->str() : "");
  for (const auto& [name, value] : f) b.Field(name, value);
  out.key = b.Build();
  return out;
}

std::string ExplainMiss(const StepKey& now, const KeyFields& before_fields,
                        const std::vector<std::pair<std::string, std::string>>& before_files) {
  return cache::ExplainFields(now.fields, now.files, before_fields, before_files);
}

}  // namespace imgbuild::builder
