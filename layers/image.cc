#include "layers/image.h"

#include <ctime>

namespace imgbuild::layers {
namespace {

using Json = nlohmann::ordered_json;

Json ObjectSet(const std::vector<std::string>& keys) {
  Json o = Json::object();
  for (const std::string& k : keys) o[k] = Json::object();
  return o;
}

std::vector<std::string> Keys(const nlohmann::json& j, const char* name) {
  std::vector<std::string> out;
  if (j.contains(name) && j[name].is_object()) {
    for (auto it = j[name].begin(); it != j[name].end(); ++it) out.push_back(it.key());
  }
  return out;
}

}  // namespace

std::string Rfc3339(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm;
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Json ImageConfig::ToJson() const {
  Json j;
  if (!created.empty()) j["created"] = created;
  if (!author.empty()) j["author"] = author;
  j["architecture"] = platform.architecture;
  j["os"] = platform.os;
  if (!platform.variant.empty()) j["variant"] = platform.variant;
  Json c = Json::object();
  if (!config.user.empty()) c["User"] = config.user;
  if (!config.exposed_ports.empty()) c["ExposedPorts"] = ObjectSet(config.exposed_ports);
  if (!config.env.empty()) c["Env"] = config.env;
  if (config.entrypoint) c["Entrypoint"] = *config.entrypoint;
  if (config.cmd) c["Cmd"] = *config.cmd;
  if (!config.volumes.empty()) c["Volumes"] = ObjectSet(config.volumes);
  if (!config.working_dir.empty()) c["WorkingDir"] = config.working_dir;
  if (!config.labels.empty()) c["Labels"] = config.labels;
  if (!config.stop_signal.empty()) c["StopSignal"] = config.stop_signal;
  if (config.args_escaped) c["ArgsEscaped"] = true;
  if (config.healthcheck) {
    const Healthcheck& h = *config.healthcheck;
    Json hc = {{"Test", h.test}};
    if (h.interval) hc["Interval"] = h.interval;
    if (h.timeout) hc["Timeout"] = h.timeout;
    if (h.start_period) hc["StartPeriod"] = h.start_period;
    if (h.start_interval) hc["StartInterval"] = h.start_interval;
    if (h.retries) hc["Retries"] = h.retries;
    c["Healthcheck"] = hc;
  }
  if (!config.on_build.empty()) c["OnBuild"] = config.on_build;
  if (config.shell) c["Shell"] = *config.shell;
  j["config"] = c;
  Json ids = Json::array();
  for (const Digest& d : diff_ids) ids.push_back(d.str());
  j["rootfs"] = {{"type", "layers"}, {"diff_ids", ids}};
  Json hist = Json::array();
  for (const HistoryEntry& h : history) {
    Json e;
    if (!h.created.empty()) e["created"] = h.created;
    e["created_by"] = h.created_by;
    if (!h.comment.empty()) e["comment"] = h.comment;
    if (h.empty_layer) e["empty_layer"] = true;
    hist.push_back(e);
  }
  j["history"] = hist;
  return j;
}

ImageConfig ImageConfig::FromJson(const nlohmann::json& j) {
  try {
    ImageConfig ic;
    ic.created = j.value("created", "");
    ic.author = j.value("author", "");
    ic.platform.architecture = j.value("architecture", "");
    ic.platform.os = j.value("os", "");
    ic.platform.variant = j.value("variant", "");
    if (j.contains("config") && j["config"].is_object()) {
      const auto& c = j["config"];
      ContainerConfig& cc = ic.config;
      cc.user = c.value("User", "");
      if (c.contains("Env") && c["Env"].is_array()) cc.env = c["Env"].get<std::vector<std::string>>();
      if (c.contains("Entrypoint") && c["Entrypoint"].is_array()) cc.entrypoint = c["Entrypoint"].get<std::vector<std::string>>();
      if (c.contains("Cmd") && c["Cmd"].is_array()) cc.cmd = c["Cmd"].get<std::vector<std::string>>();
      if (c.contains("Shell") && c["Shell"].is_array()) cc.shell = c["Shell"].get<std::vector<std::string>>();
      cc.working_dir = c.value("WorkingDir", "");
      if (c.contains("Labels") && c["Labels"].is_object()) cc.labels = c["Labels"].get<std::map<std::string, std::string>>();
      cc.exposed_ports = Keys(c, "ExposedPorts");
      cc.volumes = Keys(c, "Volumes");
      cc.stop_signal = c.value("StopSignal", "");
      cc.args_escaped = c.value("ArgsEscaped", false);
      if (c.contains("OnBuild") && c["OnBuild"].is_array()) cc.on_build = c["OnBuild"].get<std::vector<std::string>>();
      if (c.contains("Healthcheck") && c["Healthcheck"].is_object()) {
        const auto& h = c["Healthcheck"];
        Healthcheck hc;
        if (h.contains("Test")) hc.test = h["Test"].get<std::vector<std::string>>();
        hc.interval = h.value("Interval", int64_t{0});
        hc.timeout = h.value("Timeout", int64_t{0});
        hc.start_period = h.value("StartPeriod", int64_t{0});
        hc.start_interval = h.value("StartInterval", int64_t{0});
        hc.retries = h.value("Retries", 0);
        cc.healthcheck = hc;
      }
    }
    if (j.contains("rootfs")) {
      for (const auto& d : j["rootfs"].at("diff_ids")) ic.diff_ids.push_back(Digest::Parse(d.get<std::string>()));
    }
    if (j.contains("history") && j["history"].is_array()) {
      for (const auto& h : j["history"]) {
        ic.history.push_back({h.value("created", ""), h.value("created_by", ""), h.value("comment", ""),
                              h.value("empty_layer", false)});
      }
    }
    return ic;
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(std::string("invalid image config: ") + e.what());
  }
}

Json ManifestJson(const Descriptor& config, const std::vector<Descriptor>& layers,
                  const std::map<std::string, std::string>& annotations) {
  Json j;
  j["schemaVersion"] = 2;
  j["mediaType"] = media_type::kImageManifest;
  j["config"] = config.ToJson();
  Json l = Json::array();
  for (const Descriptor& d : layers) l.push_back(d.ToJson());
  j["layers"] = l;
  if (!annotations.empty()) j["annotations"] = annotations;
  return j;
}

Manifest Manifest::Parse(std::string_view bytes) {
  try {
    nlohmann::json j = nlohmann::json::parse(bytes);
    Manifest m;
    m.config = Descriptor::FromJson(j.at("config"));
    for (const auto& l : j.at("layers")) m.layers.push_back(Descriptor::FromJson(l));
    if (j.contains("annotations")) {
      for (const auto& [k, v] : j["annotations"].items()) m.annotations[k] = v.get<std::string>();
    }
    return m;
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(std::string("not an image manifest: ") + e.what());
  }
}

std::vector<Descriptor> Manifest::Blobs() const {
  std::vector<Descriptor> out = {config};
  out.insert(out.end(), layers.begin(), layers.end());
  return out;
}

}  // namespace imgbuild::layers
