#include "builder/ops/metadata_op.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "builder/ops/go_format.h"
#include "frontend/words.h"

namespace imgbuild::builder {

std::string Join(const std::vector<std::string>& words, const char* sep) {
  // Empty words keep their place ("COPY $unset ." is "COPY  ." in BuildKit's history).
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) out += (i ? sep : "") + words[i];
  return out;
}

std::string JsonArray(const std::vector<std::string>& words) {
  return nlohmann::json(words).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void SetEnv(std::vector<std::string>& env, const std::string& kv) {
  std::string key = kv.substr(0, kv.find('='));
  for (std::string& e : env) {
    if (e.substr(0, e.find('=')) == key) {
      e = kv;
      return;
    }
  }
  env.push_back(kv);
}

void ApplyMetadata(const frontend::PlannedStep& step, const frontend::MetadataStep& meta, layers::ImageConfig& image,
                   const std::string& created) {
  using K = frontend::MetadataKind;
  auto& cfg = image.config;
  auto history = [&](const std::string& created_by) { image.history.push_back({created, created_by, "", true}); };
  switch (meta.kind) {
    case K::kEnv:
      for (const std::string& kv : step.words) SetEnv(cfg.env, kv);
      history("ENV " + Join(step.words));
      break;
    case K::kLabel:
      for (const std::string& kv : step.words) {
        size_t eq = kv.find('=');
        cfg.labels[kv.substr(0, eq)] = kv.substr(eq + 1);
      }
      history("LABEL " + Join(step.words));
      break;
    case K::kArg:
      history("ARG " + Join(step.words));
      break;
    case K::kUser:
      cfg.user = step.words[0];
      history("USER " + cfg.user);
      break;
    case K::kCmd:
    case K::kEntrypoint: {
      std::vector<std::string> argv = step.words;
      if (!meta.exec_form && !step.words.empty()) {
        argv = step.shell;
        argv.push_back(step.words[0]);
      }
      if (meta.kind == K::kCmd) {
        cfg.cmd = argv;
        cfg.args_escaped = true;  // BuildKit sets it on every CMD (Docker's image spec field)
      } else {
        cfg.entrypoint = argv;
        if (!meta.cmd_set) cfg.cmd.reset();  // ENTRYPOINT resets a CMD the stage did not set
      }
      history(std::string(meta.kind == K::kCmd ? "CMD " : "ENTRYPOINT ") + GoQuotedList(argv));
      break;
    }
    case K::kShell:
      cfg.shell = step.words;
      history("SHELL " + GoList(step.words));
      break;
    case K::kExpose: {
      std::vector<std::string> ports;  // this step's, normalised and sorted (BuildKit's history)
      for (std::string port : step.words) {
        size_t slash = port.find('/');
        std::string proto = slash == std::string::npos ? "tcp" : frontend::AsciiLower(port.substr(slash + 1));
        port = port.substr(0, slash) + "/" + proto;
        if (std::find(ports.begin(), ports.end(), port) == ports.end()) ports.push_back(port);
        if (std::find(cfg.exposed_ports.begin(), cfg.exposed_ports.end(), port) == cfg.exposed_ports.end()) {
          cfg.exposed_ports.push_back(port);
        }
      }
      std::sort(cfg.exposed_ports.begin(), cfg.exposed_ports.end());
      std::sort(ports.begin(), ports.end());
      history("EXPOSE " + GoList(ports));
      break;
    }
    case K::kVolume:
      for (const std::string& v : step.words) {
        if (std::find(cfg.volumes.begin(), cfg.volumes.end(), v) == cfg.volumes.end()) cfg.volumes.push_back(v);
      }
      history("VOLUME " + GoList(step.words));
      break;
    case K::kStopSignal:
      cfg.stop_signal = step.words[0];
      history("STOPSIGNAL " + cfg.stop_signal);
      break;
    case K::kMaintainer:
      image.author = step.words[0];
      history("MAINTAINER " + step.words[0]);
      break;
    case K::kOnbuild:
      cfg.on_build.push_back(step.words[0]);  // no history entry, as BuildKit
      break;
    case K::kHealthcheck: {
      layers::Healthcheck hc;
      hc.test = step.words;
      hc.interval = meta.interval_ns;
      hc.timeout = meta.timeout_ns;
      hc.start_period = meta.start_period_ns;
      hc.start_interval = meta.start_interval_ns;
      hc.retries = meta.retries;
      cfg.healthcheck = hc;
      history("HEALTHCHECK " + GoHealthcheck(hc));
      break;
    }
  }
}

KeyFields MetadataKeyFields(const frontend::PlannedStep& step, const frontend::MetadataStep& meta) {
  using K = frontend::MetadataKind;
  KeyFields f;
  if (meta.kind == K::kArg) {
    // Only the names: a value counts where a step uses it (its expanded words, or RUN's env).
    std::vector<std::string> names;
    for (const std::string& w : step.words) names.push_back(KeyName(w));
    f.emplace_back("args", KeyJson(names));
  } else if (meta.kind == K::kEnv || meta.kind == K::kLabel) {
    for (const std::string& w : step.words) {
      f.emplace_back((meta.kind == K::kEnv ? "env " : "label ") + KeyName(w), KeyValue(w));
    }
  } else if (meta.kind == K::kCmd || meta.kind == K::kEntrypoint) {
    f.emplace_back("args", KeyJson(step.words));
    if (!meta.exec_form) f.emplace_back("shell", KeyJson(step.shell));
  } else {
    f.emplace_back("args", KeyJson(step.words));
  }
  return f;
}

}  // namespace imgbuild::builder
