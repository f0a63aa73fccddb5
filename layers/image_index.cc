#include "layers/image_index.h"

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace imgbuild::layers {
namespace {

// containerd's normalisation of variants: the default variant of an architecture is no variant.
std::string Variant(const Platform& p) {
  if (p.architecture == "arm64" && (p.variant == "v8" || p.variant.empty())) return "";
  if (p.architecture == "arm" && (p.variant.empty() || p.variant == "v7")) return "v7";
  if (p.architecture == "amd64" && p.variant == "v1") return "";
  return p.variant;
}

}  // namespace

bool IsIndex(const std::string& media_type) {
  return media_type == media_type::kImageIndex || media_type == media_type::kDockerManifestList;
}

std::string PlatformText(const Platform& p) {
  return p.os + "/" + p.architecture + (p.variant.empty() ? "" : "/" + p.variant);
}

bool PlatformMatches(const Platform& want, const Platform& have) {
  return want.os == have.os && want.architecture == have.architecture && Variant(want) == Variant(have);
}

Descriptor PutIndex(ContentStore& store, const std::vector<Descriptor>& manifests,
                    const std::map<std::string, std::string>& annotations) {
  nlohmann::ordered_json j;
  j["schemaVersion"] = 2;
  j["mediaType"] = media_type::kImageIndex;
  j["manifests"] = nlohmann::ordered_json::array();
  for (const Descriptor& m : manifests) j["manifests"].push_back(m.ToJson());
  if (!annotations.empty()) j["annotations"] = annotations;
  return store.Put(media_type::kImageIndex, j.dump());
}

std::vector<Descriptor> IndexManifests(ContentStore& store, const Descriptor& index) {
  if (!IsIndex(index.media_type)) throw std::invalid_argument(index.digest.str() + " is not an image index");
  auto j = nlohmann::json::parse(store.ReadBlob(index.digest));
  std::vector<Descriptor> out;
  for (const auto& m : j.at("manifests")) out.push_back(Descriptor::FromJson(m));
  return out;
}

std::optional<Descriptor> SelectPlatform(ContentStore& store, const Descriptor& d, const Platform& want) {
  if (!IsIndex(d.media_type)) return d;
  for (const Descriptor& m : IndexManifests(store, d)) {
    // An entry whose image the store lacks (an index loaded or pulled in part) is not there.
    if (m.platform && PlatformMatches(want, *m.platform) && !IsIndex(m.media_type) && store.Has(m.digest)) return m;
  }
  return std::nullopt;
}

std::string PlatformsText(const std::vector<Descriptor>& manifests) {
  std::string out;
  for (const Descriptor& m : manifests) {
    if (!m.platform) continue;
    out += (out.empty() ? "" : ", ") + PlatformText(*m.platform);
  }
  return out.empty() ? "none" : out;
}

}  // namespace imgbuild::layers
