#include "cache/transfer.h"

#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>

#include "layers/image.h"
#include "layers/json_bytes.h"
#include "layers/layer_writer.h"
#include "layers/registry/client.h"
#include "layers/registry/reference.h"
#include "layers/sys_error.h"

namespace imgbuild::cache {
namespace {

constexpr const char* kConfigType = "application/vnd.imgbuild.cache.config.v1+json";
constexpr const char* kTag = "cache";

// A record as exported: the portable fields and its input files (for explanations elsewhere).
nlohmann::ordered_json ExportedRecordJson(const CacheRecord& r) {
  nlohmann::ordered_json j = RecordToJson(r);
  j["files"] = nlohmann::json::array();
  for (const auto& [k, v] : r.files) j["files"].push_back({layers::BytesToJsonString(k), v});
  return j;
}

CacheRecord ExportedRecordFromJson(const nlohmann::json& j) {
  CacheRecord r = RecordFromJson(j);
  for (const auto& f : j.value("files", nlohmann::json::array())) {
    r.files.emplace_back(layers::BytesFromJsonString(f.at(0).get<std::string>()), f.at(1));
  }
  return r;
}

void CopyBlob(layers::ContentStore& from, layers::ContentStore& to, const layers::Descriptor& d) {
  if (to.Has(d.digest)) return;
  layers::ContentStore::Writer w = to.Ingest();
  layers::ReadChunks(from.BlobPath(d.digest), [&](std::string_view b) { w.Write(b); });
  w.Commit(d.media_type, d.digest, d.size);
}

}  // namespace

namespace {

// The cache artifact of `records`: its config (the records, each with the compressed blob of its
// layer) and manifest, and the blobs it lists (all in `from`).
struct CacheArtifact {
  std::string config, manifest;
  layers::Descriptor config_desc;
  std::vector<layers::Descriptor> blobs;
};

CacheArtifact MakeArtifact(const std::vector<CacheRecord>& records, layers::ContentStore& from,
                           const CacheLayerOptions& options) {
  CacheArtifact a;
  nlohmann::ordered_json config = {{"version", 2}, {"records", nlohmann::json::array()}};
  std::set<std::string> seen;
  for (const CacheRecord& r : records) {
    nlohmann::ordered_json j = ExportedRecordJson(r);
    if (r.layer) {
      layers::Descriptor blob = layers::CompressLayer(from, *r.layer, options.compression, options.memo_dir);
      j["blob"] = blob.ToJson();
      if (seen.insert(blob.digest.str()).second) a.blobs.push_back(blob);
    }
    config["records"].push_back(std::move(j));
  }
  a.config = config.dump();
  a.config_desc.media_type = kConfigType;
  a.config_desc.digest = layers::Digest::OfBytes(a.config);
  a.config_desc.size = static_cast<int64_t>(a.config.size());
  nlohmann::ordered_json manifest = layers::ManifestJson(a.config_desc, a.blobs, {});
  manifest["artifactType"] = kCacheArtifactType;
  a.manifest = manifest.dump();
  return a;
}

std::unique_ptr<layers::registry::RegistryClient> Client(const layers::registry::Reference& r, bool tls_verify) {
  layers::registry::RegistryOptions o;
  o.tls_verify = tls_verify;
  return std::make_unique<layers::registry::RegistryClient>(r.domain, o);
}

}  // namespace

void ExportCache(const CacheTransferSpec& spec, const std::string& tmp, const std::vector<CacheRecord>& records,
                 layers::ContentStore& from, const CacheLayerOptions& options, bool tls_verify) {
  CacheArtifact a = MakeArtifact(records, from, options);
  if (spec.type == "registry") {
    // Straight from the store: layers the image push uploaded already are only checked (HEAD).
    layers::registry::Reference r = layers::registry::Reference::Parse(spec.ref);
    auto client = Client(r, tls_verify);
    for (const layers::Descriptor& b : a.blobs) client->PushBlob(r.repository, b, from.BlobPath(b.digest));
    std::string config_file = tmp + "/cache-config.json";
    layers::WriteFileAtomic(config_file, a.config);
    client->PushBlob(r.repository, a.config_desc, config_file);
    client->PutManifest(r.repository, r.Object(), a.manifest, layers::media_type::kImageManifest);
    return;
  }
  layers::OciLayout out(spec.dir, tmp);
  for (const layers::Descriptor& b : a.blobs) CopyBlob(from, out.store(), b);
  out.store().Put(kConfigType, a.config);
  out.Tag(kTag, out.store().Put(layers::media_type::kImageManifest, a.manifest), /*normalize=*/false);
}

struct ImportedCache::Remote {
  layers::registry::Reference ref;
  std::unique_ptr<layers::registry::RegistryClient> client;
  std::unique_ptr<layers::OciLayout> scratch;  // the config, fetched into tmp
};

ImportedCache::ImportedCache(const CacheTransferSpec& spec, const std::string& tmp, bool tls_verify) {
  std::string config_bytes;
  std::string where = spec.type == "registry" ? spec.ref : spec.dir;
  if (spec.type == "registry") {
    remote_ = std::make_unique<Remote>();
    remote_->ref = layers::registry::Reference::Parse(spec.ref);
    remote_->client = Client(remote_->ref, tls_verify);
    layers::registry::RegistryClient::Manifest m;
    try {
      m = remote_->client->GetManifest(remote_->ref.repository, remote_->ref.Object());
    } catch (const layers::registry::RegistryError& e) {
      if (std::string(e.what()).find("HTTP 404") != std::string::npos) return;  // no cache yet: a first run
      throw;
    }
    remote_->scratch = std::make_unique<layers::OciLayout>(tmp + "/layout", tmp);
    try {
      layers::Descriptor cfg = layers::Manifest::Parse(m.bytes).config;
      remote_->client->FetchBlob(remote_->ref.repository, cfg, remote_->scratch->store());
      config_bytes = remote_->scratch->store().ReadBlob(cfg.digest);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error("--cache-from " + where + ": not a cache imgbuild wrote: " + e.what());
    }
  } else {
    layout_ = std::make_unique<layers::OciLayout>(spec.dir, tmp);
    std::optional<layers::Descriptor> m = layout_->Find(kTag);
    if (!m) return;  // an empty cache (a first run of the CI job)
    try {
      config_bytes = layout_->store().ReadBlob(layers::Manifest::Parse(layout_->store().ReadBlob(m->digest)).config.digest);
    } catch (const std::exception& e) {
      throw std::runtime_error("--cache-from " + where + ": not a cache imgbuild wrote: " + e.what());
    }
  }
  try {
    auto config = nlohmann::json::parse(config_bytes);
    int version = config.at("version").get<int>();
    if (version != 1 && version != 2) throw std::runtime_error("unknown cache version " + std::to_string(version));
    for (const auto& j : config.at("records")) {
      CacheRecord r = ExportedRecordFromJson(j);
      if (r.layer) blobs_[r.key] = j.contains("blob") ? layers::Descriptor::FromJson(j["blob"]) : *r.layer;
      records_[r.key] = std::move(r);
    }
  } catch (const std::exception& e) {
    throw std::runtime_error("--cache-from " + where + ": not a cache imgbuild wrote: " + e.what());
  }
}

ImportedCache::~ImportedCache() = default;

const CacheRecord* ImportedCache::Find(const CacheKey& key) const {
  auto it = records_.find(key);
  if (it == records_.end()) return nullptr;
  if (it->second.layer && layout_ && !layout_->store().Has(blobs_.at(key).digest)) return nullptr;
  return &it->second;
}

int64_t ImportedCache::FetchLayer(const CacheRecord& r, layers::ContentStore& to,
                                  const std::string& memo_dir) const {
  if (!r.layer || to.Has(r.layer->digest)) return 0;
  const layers::Descriptor& blob = blobs_.at(r.key);
  if (layout_) {
    CopyBlob(layout_->store(), to, blob);
  } else {
    remote_->client->FetchBlob(remote_->ref.repository, blob, to);
  }
  if (blob.digest != r.layer->digest) {
    layers::DecompressLayer(to, blob, *r.diff_id, memo_dir);
  }
  return blob.size;
}

}  // namespace imgbuild::cache
