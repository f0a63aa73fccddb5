#include "builder/ops/metadata_op.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "frontend/words.h"

namespace imgbuild::builder {

std::string Join(const std::vector<std::string>& words, const char* sep) {
  std::string out;
  for (const std::string& w : words) out += (out.empty() ? "" : sep) + w;
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

bool ApplyMetadata(const frontend::PlannedStep& step, const frontend::Instruction& instr, layers::ImageConfig& image,
                   const std::string& created) {
  const std::string& k = step.keyword;
  auto& cfg = image.config;
  auto history = [&](const std::string& created_by) { image.history.push_back({created, created_by, "", true}); };
  if (k == "ENV") {
    for (const std::string& kv : step.words) SetEnv(cfg.env, kv);
    history("ENV " + Join(step.words));
  } else if (k == "LABEL") {
    for (const std::string& kv : step.words) {
      size_t eq = kv.find('=');
      cfg.labels[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    history("LABEL " + Join(step.words));
  } else if (k == "ARG") {
    history("ARG " + Join(step.words));
  } else if (k == "USER") {
    cfg.user = step.words[0];
    history("USER " + cfg.user);
  } else if (k == "CMD" || k == "ENTRYPOINT") {
    const auto& c = std::get<frontend::CmdInstr>(instr.op);
    std::vector<std::string> argv = c.cmd;
    if (!c.exec_form && !c.cmd.empty()) {
      argv = step.shell;
      argv.push_back(c.cmd[0]);
    }
    if (k == "CMD") {
      cfg.cmd = argv;
    } else {
      cfg.entrypoint = argv;
      if (!cfg.cmd || !cfg.cmd->empty()) cfg.cmd.reset();  // ENTRYPOINT resets an inherited CMD
    }
    history(k + " " + JsonArray(argv));
  } else if (k == "SHELL") {
    cfg.shell = step.words;
    history("SHELL " + JsonArray(step.words));
  } else if (k == "EXPOSE") {
    for (std::string port : step.words) {
      size_t slash = port.find('/');
      std::string proto = slash == std::string::npos ? "tcp" : frontend::AsciiLower(port.substr(slash + 1));
      port = port.substr(0, slash) + "/" + proto;
      if (std::find(cfg.exposed_ports.begin(), cfg.exposed_ports.end(), port) == cfg.exposed_ports.end()) {
        cfg.exposed_ports.push_back(port);
      }
    }
    std::sort(cfg.exposed_ports.begin(), cfg.exposed_ports.end());
    history("EXPOSE " + Join(step.words));
  } else if (k == "VOLUME") {
    for (const std::string& v : step.words) {
      if (std::find(cfg.volumes.begin(), cfg.volumes.end(), v) == cfg.volumes.end()) cfg.volumes.push_back(v);
    }
    history("VOLUME " + JsonArray(step.words));
  } else if (k == "STOPSIGNAL") {
    cfg.stop_signal = step.words[0];
    history("STOPSIGNAL " + cfg.stop_signal);
  } else if (k == "MAINTAINER") {
    image.author = step.words[0];
    history("MAINTAINER " + step.words[0]);
  } else if (k == "ONBUILD") {
    cfg.on_build.push_back(step.words[0]);
    history("ONBUILD " + step.words[0]);
  } else if (k == "HEALTHCHECK") {
    const auto& h = std::get<frontend::HealthcheckInstr>(instr.op);
    layers::Healthcheck hc;
    hc.test = h.test;
    hc.interval = h.interval_ns.value_or(0);
    hc.timeout = h.timeout_ns.value_or(0);
    hc.start_period = h.start_period_ns.value_or(0);
    hc.start_interval = h.start_interval_ns.value_or(0);
    hc.retries = h.retries.value_or(0);
    cfg.healthcheck = hc;
    history("HEALTHCHECK " + JsonArray(h.test));
  } else {
    return false;
  }
  return true;
}

}  // namespace imgbuild::builder
