#include "builder/solver/image_assembly.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

namespace imgbuild::builder {

BuiltImage AssembleImage(BuildEnv& env, StageImage img) {
  for (const auto& [k, v] : env.req.labels) img.config.config.labels[k] = v;
  std::string created = env.created;
  if (!img.config.history.empty()) {
    created = img.config.history.front().created;
    for (const auto& h : img.config.history) created = std::max(created, h.created);
  }
  img.config.created = created;
  img.config.platform = env.req.platform;
  BuiltImage out;
  out.config = env.store.store().Put(layers::media_type::kImageConfig,
                                     img.config.ToJson().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  out.layers = img.layers;
  std::map<std::string, std::string> annotations = env.req.annotations;
  annotations.emplace("org.opencontainers.image.created", created);  // an --annotation of that key wins
  if (img.base_manifest) {
    annotations["org.opencontainers.image.base.name"] = img.base_name;
    annotations["org.opencontainers.image.base.digest"] = img.base_manifest->digest.str();
  }
  std::string manifest = layers::ManifestJson(out.config, out.layers, annotations).dump();
  out.manifest = env.store.store().Put(layers::media_type::kImageManifest, manifest);
  out.manifest.platform = env.req.platform;
  if (env.req.part_of_index) return out;
  for (const std::string& tag : env.req.tags) env.store.Tag(tag, out.manifest);
  // An image built without a name stays in the store untagged (docker's <none>), so its ID names
  // it (`tag $(cat iidfile) app`) and no GC removes it until `prune -a`.
  if (env.req.tags.empty()) env.store.AddUntagged(out.manifest);
  return out;
}

}  // namespace imgbuild::builder
