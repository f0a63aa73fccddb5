#include "builder/cache_transfer.h"

#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "layers/image.h"
#include "layers/registry/client.h"
#include "layers/registry/reference.h"
#include "layers/sys_error.h"

namespace imgbuild::builder {
namespace {

constexpr const char* kConfigType = "application/vnd.imgbuild.cache.config.v1+json";
constexpr const char* kTag = "cache";

// A record as exported: the portable fields and its input files (for explanations elsewhere).
nlohmann::ordered_json RecordJson(const cache::CacheRecord& r) {
  nlohmann::ordered_json j = cache::RecordToJson(r);
  j["files"] = nlohmann::json::array();
  for (const auto& [k, v] : r.files) j["files"].push_back({k, v});
  return j;
}

cache::CacheRecord RecordFromJson(const nlohmann::json& j) {
  cache::CacheRecord r = cache::RecordFromJson(j);
  for (const auto& f : j.value("files", nlohmann::json::array())) r.files.emplace_back(f.at(0), f.at(1));
  return r;
}

void CopyBlob(layers::ContentStore& from, layers::ContentStore& to, const layers::Descriptor& d) {
  if (to.Has(d.digest)) return;
  layers::ContentStore::Writer w = to.Ingest();
  layers::ReadChunks(from.BlobPath(d.digest), [&](std::string_view b) { w.Write(b); });
  w.Commit(d.media_type, d.digest, d.size);
}

}  // namespace

CacheTransferSpec ParseCacheSpec(const std::string& text, bool for_export) {
  CacheTransferSpec spec;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string kv = text.substr(start, comma - start);
    size_t eq = kv.find('=');
    std::string k = kv.substr(0, eq), v = eq == std::string::npos ? "" : kv.substr(eq + 1);
    if (k == "type") spec.type = v;
    else if (k == (for_export ? "dest" : "src")) spec.dir = v;
    else if (k == "ref") spec.ref = v;
    else if (k == "mode" && for_export && (v == "min" || v == "max")) spec.max = v == "max";
    else if (!kv.empty()) throw std::invalid_argument("unknown or bad option \"" + kv + "\" in " + text);
    start = comma + 1;
  }
  if (spec.type == "registry") {
    if (spec.ref.empty()) throw std::invalid_argument(text + " needs ref=REF");
    layers::registry::Reference::Parse(spec.ref);  // throws ReferenceError (an invalid_argument)
    return spec;
  }
  if (spec.type != "local") {
    throw std::invalid_argument("cache type \"" + spec.type + "\" is not supported (use type=local or type=registry)");
  }
  if (spec.dir.empty()) throw std::invalid_argument(text + " needs " + (for_export ? "dest=DIR" : "src=DIR"));
  return spec;
}

void ExportCache(const std::string& dir, const std::string& tmp, const std::vector<cache::CacheRecord>& records,
                 layers::ContentStore& from) {
  layers::OciLayout out(dir, tmp);
  nlohmann::ordered_json config = {{"version", 1}, {"records", nlohmann::json::array()}};
  std::vector<layers::Descriptor> blobs;
  std::set<std::string> seen;
  for (const cache::CacheRecord& r : records) {
    config["records"].push_back(RecordJson(r));
    if (r.layer && seen.insert(r.layer->digest.str()).second) {
      CopyBlob(from, out.store(), *r.layer);
      blobs.push_back(*r.layer);
    }
  }
  layers::Descriptor cfg = out.store().Put(kConfigType, config.dump());
  nlohmann::ordered_json manifest = layers::ManifestJson(cfg, blobs, {});
  manifest["artifactType"] = kCacheArtifactType;
  layers::Descriptor m = out.store().Put(layers::media_type::kImageManifest, manifest.dump());
  out.Tag(kTag, m, /*normalize=*/false);
}

ImportedCache::ImportedCache(const std::string& dir, const std::string& tmp) {
  layout_ = std::make_unique<layers::OciLayout>(dir, tmp);
  std::optional<layers::Descriptor> m = layout_->Find(kTag);
  if (!m) return;  // an empty cache (a first run of the CI job)
  try {
    auto manifest = nlohmann::json::parse(layout_->store().ReadBlob(m->digest));
    auto cfg = layers::Descriptor::FromJson(manifest.at("config"));
    auto config = nlohmann::json::parse(layout_->store().ReadBlob(cfg.digest));
    if (config.at("version").get<int>() != 1) throw std::runtime_error("unknown cache version");
    for (const auto& j : config.at("records")) {
      cache::CacheRecord r = RecordFromJson(j);
      records_[r.key] = std::move(r);
    }
  } catch (const std::exception& e) {
    throw std::runtime_error("--cache-from " + dir + ": not a cache imgbuild wrote: " + e.what());
  }
}

const cache::CacheRecord* ImportedCache::Find(const std::string& key) const {
  auto it = records_.find(key);
  if (it == records_.end()) return nullptr;
  if (it->second.layer && !layout_->store().Has(it->second.layer->digest)) return nullptr;
  return &it->second;
}

void ImportedCache::FetchLayer(const cache::CacheRecord& r, layers::ContentStore& to) const {
  if (r.layer) CopyBlob(layout_->store(), to, *r.layer);
}

void PushCache(const std::string& dir, const std::string& tmp, const std::string& ref, bool tls_verify) {
  layers::registry::Reference r = layers::registry::Reference::Parse(ref);
  layers::registry::RegistryOptions o;
  o.tls_verify = tls_verify;
  layers::registry::RegistryClient client(r.domain, o);
  layers::OciLayout layout(dir, tmp);
  std::optional<layers::Descriptor> m = layout.Find(kTag);
  if (!m) throw std::runtime_error("no cache to push in " + dir);
  std::string bytes = layout.store().ReadBlob(m->digest);
  auto manifest = nlohmann::json::parse(bytes);
  std::vector<layers::Descriptor> blobs = {layers::Descriptor::FromJson(manifest.at("config"))};
  for (const auto& l : manifest.at("layers")) blobs.push_back(layers::Descriptor::FromJson(l));
  for (const layers::Descriptor& b : blobs) client.PushBlob(r.repository, b, layout.store().BlobPath(b.digest));
  client.PutManifest(r.repository, r.Object(), bytes, layers::media_type::kImageManifest);
}

void FetchCache(const std::string& ref, const std::string& dir, const std::string& tmp, bool tls_verify) {
  layers::registry::Reference r = layers::registry::Reference::Parse(ref);
  layers::registry::RegistryOptions o;
  o.tls_verify = tls_verify;
  layers::registry::RegistryClient client(r.domain, o);
  layers::registry::RegistryClient::Manifest m;
  try {
    m = client.GetManifest(r.repository, r.Object());
  } catch (const layers::registry::RegistryError& e) {
    if (std::string(e.what()).find("HTTP 404") != std::string::npos) return;  // no cache yet: a first run
    throw;
  }
  layers::OciLayout layout(dir, tmp);
  auto manifest = nlohmann::json::parse(m.bytes);
  std::vector<layers::Descriptor> blobs = {layers::Descriptor::FromJson(manifest.at("config"))};
  for (const auto& l : manifest.at("layers")) blobs.push_back(layers::Descriptor::FromJson(l));
  for (const layers::Descriptor& b : blobs) client.FetchBlob(r.repository, b, layout.store());
  layout.Tag(kTag, layout.store().Put(layers::media_type::kImageManifest, m.bytes), false);
}

}  // namespace imgbuild::builder
