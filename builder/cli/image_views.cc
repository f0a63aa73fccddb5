#include "builder/cli/image_views.h"

#include <algorithm>
#include <filesystem>

#include "builder/cli/table.h"
#include "layers/image.h"
#include "layers/layer_size.h"
#include "layers/image_index.h"
#include "frontend/platform_spec.h"

namespace imgbuild::builder {
namespace {

struct Loaded {
  layers::Manifest manifest;
  nlohmann::ordered_json config;
  std::vector<int64_t> layer_sizes;
};

// A layer's uncompressed size: the uncompressed blob when the store has it (a built layer, or a
// pulled one a build unpacked), else the compressed blob's count (layers/layer_size), else the
// blob as it is (a layer the store does not hold).
int64_t LayerSize(layers::OciLayout& store, const std::string& memo_dir, const layers::Descriptor& layer,
                  const nlohmann::ordered_json& diff_id) {
  try {
    if (diff_id.is_string()) {
      layers::Digest d = layers::Digest::Parse(diff_id.get<std::string>());
      if (std::optional<int64_t> size = store.store().Size(d)) return *size;
    }
    if (store.store().Has(layer.digest)) return layers::UncompressedSize(store.store(), layer, memo_dir);
  } catch (const std::exception&) {
  }
  return layer.size;
}

Loaded Load(layers::OciLayout& store, const std::string& memo_dir, const layers::Descriptor& m) {
  Loaded l{layers::Manifest::Parse(store.store().ReadBlob(m.digest)), {}, {}};
  l.config = nlohmann::ordered_json::parse(store.store().ReadBlob(l.manifest.config.digest));
  nlohmann::ordered_json diff_ids = l.config.contains("rootfs") ? l.config["rootfs"].value("diff_ids", nlohmann::ordered_json::array())
                                                                : nlohmann::ordered_json::array();
  for (size_t i = 0; i < l.manifest.layers.size(); ++i)
    l.layer_sizes.push_back(LayerSize(store, memo_dir, l.manifest.layers[i], i < diff_ids.size() ? diff_ids[i] : nullptr));
  return l;
}

std::string Str(const nlohmann::ordered_json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

}  // namespace

layers::Descriptor ShownManifest(layers::OciLayout& store, const layers::Descriptor& d, const std::string& platform) {
  if (!layers::IsIndex(d.media_type)) return d;
  std::vector<layers::Descriptor> entries = layers::IndexManifests(store.store(), d);
  if (platform.empty()) {
    if (auto host = layers::SelectPlatform(store.store(), d, layers::Platform::Host())) return *host;
    for (const layers::Descriptor& e : entries) {
      if (!layers::IsIndex(e.media_type) && store.store().Has(e.digest)) return e;
    }
    throw std::runtime_error(d.digest.str() + ": the store holds none of this index's images");
  }
  frontend::PlatformSpec p = platform == "local" ? frontend::PlatformSpec::Host() : frontend::PlatformSpec::Parse(platform);
  layers::Platform want{p.os, p.arch, p.variant};
  if (auto pick = layers::SelectPlatform(store.store(), d, want)) return *pick;
  throw std::runtime_error("the image has no manifest for " + layers::PlatformText(want) + " (it has " +
                           layers::PlatformsText(entries) + ")");
}

std::vector<ImageRow> ListImages(layers::OciLayout& store, const std::string& memo_dir) {
  std::vector<ImageRow> rows;
  for (const layers::Descriptor& d : store.Manifests()) {
    ImageRow row;
    row.digest = d.digest.str();
    auto name = d.annotations.find(layers::kRefNameAnnotation);
    if (name != d.annotations.end()) {
      std::string n = layers::NormalizeTag(name->second);
      size_t at = n.find('@'), slash = n.find_last_of('/'), colon = n.find_last_of(':');
      if (at != std::string::npos) {
        row.repository = n.substr(0, at);
      } else if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) {
        row.repository = n.substr(0, colon);
        row.tag = n.substr(colon + 1);
      } else {
        row.repository = n;
      }
    }
    try {
      Loaded l = Load(store, memo_dir, ShownManifest(store, d));
      // docker's ID: the config digest; of a multi-platform image, the index digest.
      row.id = layers::IsIndex(d.media_type) ? d.digest.str() : l.manifest.config.digest.str();
      row.created = Str(l.config, "created");
      row.created_unix = ParseRfc3339(row.created);
      for (int64_t s : l.layer_sizes) row.size += s;
    } catch (const std::exception&) {
      row.id = "<unreadable>";  // an index or a damaged entry: listed, never fatal
    }
    rows.push_back(row);
  }
  std::stable_sort(rows.begin(), rows.end(), [](const ImageRow& a, const ImageRow& b) {
    if (a.created_unix != b.created_unix) return a.created_unix > b.created_unix;
    return std::tie(a.repository, a.tag) < std::tie(b.repository, b.tag);
  });
  return rows;
}

nlohmann::ordered_json RowFields(const ImageRow& row, bool no_trunc, int64_t now) {
  std::string id = row.id;
  if (!no_trunc && id.rfind("sha256:", 0) == 0) id = id.substr(7, 12);
  return {{"ID", id},
          {"Repository", row.repository},
          {"Tag", row.tag},
          {"Digest", row.digest},
          {"CreatedAt", row.created_unix < 0 ? "" : GoTime(row.created_unix)},
          {"CreatedSince", row.created_unix < 0 ? "N/A" : HumanDuration(static_cast<double>(now - row.created_unix)) + " ago"},
          {"Size", HumanSize(static_cast<double>(row.size))}};
}

nlohmann::ordered_json DockerInspect(layers::OciLayout& store, const std::string& memo_dir, const layers::Descriptor& entry,
                                     const std::string& platform) {
  const layers::Descriptor m = ShownManifest(store, entry, platform);
  Loaded l = Load(store, memo_dir, m);
  nlohmann::ordered_json tags = nlohmann::ordered_json::array();
  for (const layers::Descriptor& d : store.Manifests()) {
    auto name = d.annotations.find(layers::kRefNameAnnotation);
    if (d.digest == entry.digest && name != d.annotations.end()) tags.push_back(layers::NormalizeTag(name->second));
  }
  int64_t size = 0;
  for (int64_t s : l.layer_sizes) size += s;
  nlohmann::ordered_json doc;
  doc["Id"] = layers::IsIndex(entry.media_type) ? entry.digest.str() : l.manifest.config.digest.str();
  doc["RepoTags"] = tags;
  doc["RepoDigests"] = nlohmann::ordered_json::array();
  doc["Parent"] = "";
  doc["Comment"] = "";
  doc["Created"] = Str(l.config, "created");
  doc["Author"] = Str(l.config, "author");
  doc["Config"] = l.config.contains("config") ? l.config["config"] : nlohmann::ordered_json::object();
  doc["Architecture"] = Str(l.config, "architecture");
  if (!Str(l.config, "variant").empty()) doc["Variant"] = Str(l.config, "variant");
  doc["Os"] = Str(l.config, "os");
  doc["Size"] = size;
  doc["RootFS"] = {{"Type", "layers"},
                   {"Layers", l.config.contains("rootfs") ? l.config["rootfs"].value("diff_ids", nlohmann::ordered_json::array())
                                                          : nlohmann::ordered_json::array()}};
  layers::Descriptor plain = entry;
  plain.annotations.clear();
  doc["Descriptor"] = plain.ToJson();
  return doc;
}

std::vector<HistoryRow> ImageHistory(layers::OciLayout& store, const std::string& memo_dir, const layers::Descriptor& m) {
  Loaded l = Load(store, memo_dir, m);
  std::vector<HistoryRow> rows;
  size_t layer = 0;
  nlohmann::ordered_json history = l.config.value("history", nlohmann::ordered_json::array());
  for (const auto& h : history) {
    HistoryRow row;
    row.created = Str(h, "created");
    row.created_unix = ParseRfc3339(row.created);
    row.created_by = Str(h, "created_by");
    row.comment = Str(h, "comment");
    bool empty = h.value("empty_layer", false);
    if (!empty && layer < l.layer_sizes.size()) row.size = l.layer_sizes[layer++];
    rows.push_back(row);
  }
  // An image with no history (some exporters) still shows its layers.
  if (history.empty()) {
    for (int64_t s : l.layer_sizes) {
      HistoryRow row;
      row.size = s;
      rows.push_back(row);
    }
  }
  std::reverse(rows.begin(), rows.end());
  if (!rows.empty()) rows.front().image = l.manifest.config.digest.str();
  return rows;
}

}  // namespace imgbuild::builder
