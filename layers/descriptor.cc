#include "layers/descriptor.h"

#include <sys/utsname.h>

namespace imgbuild::layers {

Platform Platform::Host() {
  struct utsname u;
  ::uname(&u);
  std::string m = u.machine;
  Platform p;
  p.architecture = m == "x86_64" ? "amd64" : m == "aarch64" ? "arm64" : m;
  return p;
}

nlohmann::ordered_json Platform::ToJson() const {
  nlohmann::ordered_json j = {{"architecture", architecture}, {"os", os}};
  if (!variant.empty()) j["variant"] = variant;
  return j;
}

nlohmann::ordered_json Descriptor::ToJson() const {
  nlohmann::ordered_json j = {{"mediaType", media_type}, {"digest", digest.str()}, {"size", size}};
  if (!annotations.empty()) j["annotations"] = annotations;
  if (platform) j["platform"] = platform->ToJson();
  return j;
}

Descriptor Descriptor::FromJson(const nlohmann::json& j) {
  try {
    Descriptor d;
    d.media_type = j.at("mediaType").get<std::string>();
    d.digest = Digest::Parse(j.at("digest").get<std::string>());
    d.size = j.at("size").get<int64_t>();
    if (d.size < 0) throw std::invalid_argument("negative size");
    if (j.contains("annotations")) d.annotations = j.at("annotations").get<std::map<std::string, std::string>>();
    if (j.contains("platform")) {
      Platform p;
      p.os = j["platform"].value("os", "");
      p.architecture = j["platform"].value("architecture", "");
      p.variant = j["platform"].value("variant", "");
      d.platform = p;
    }
    return d;
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(std::string("invalid descriptor: ") + e.what());
  }
}

}  // namespace imgbuild::layers
