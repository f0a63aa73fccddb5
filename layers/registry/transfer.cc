#include "layers/registry/transfer.h"

#include "layers/parallel.h"

#include <algorithm>

#include "layers/image_index.h"

#include "layers/image.h"

#include <chrono>
#include <cstdio>
#include <mutex>

#include <stdlib.h>

#include <atomic>
#include <exception>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "layers/sys_error.h"

namespace imgbuild::layers::registry {
namespace {

namespace fs = std::filesystem;



}  // namespace

namespace {

// The image of manifest `m` of `ref`: its blobs stream into the store, each verified against its
// digest and size as it is committed, then the manifest. Nothing is tagged here. Layers are
// checked by the applier when a build unpacks them (hostile ones are refused there, as any).
Descriptor FetchImage(RegistryClient& client, const Reference& ref, const RegistryClient::Manifest& m,
                      const Platform& platform, OciLayout& store, int parallel, const PullNote& note, int& fetched) {
  std::vector<Descriptor> blobs = Manifest::Parse(m.bytes).Blobs();
  std::mutex note_mu;
  auto say = [&](const std::string& text) {
    std::lock_guard<std::mutex> lock(note_mu);
    if (note) note(text);
  };
  int64_t total = 0;
  int missing = 0;
  for (size_t i = 1; i < blobs.size(); ++i) {
    if (store.store().Has(blobs[i].digest)) continue;
    total += blobs[i].size;
    ++missing;
  }
  char text[240];
  std::snprintf(text, sizeof text, "pulling %s (%s): %d of %zu layers to fetch, %.1f MB", ref.String().c_str(),
                PlatformText(platform).c_str(), missing, blobs.size() - 1, static_cast<double>(total) / 1e6);
  say(text);
  ForEach(blobs.size(), parallel, [&](size_t i) {
    if (store.store().Has(blobs[i].digest)) return;
    auto t0 = std::chrono::steady_clock::now();
    client.FetchBlob(ref.repository, blobs[i], store.store());
    if (i == 0) return;
    char line[200];
    std::snprintf(line, sizeof line, "  fetched layer %.19s (%.1f MB) in %.1fs", blobs[i].digest.str().c_str(),
                  static_cast<double>(blobs[i].size) / 1e6,
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    say(line);
  });
  fetched += static_cast<int>(blobs.size());
  auto config = nlohmann::json::parse(store.store().ReadBlob(blobs[0].digest));
  if (config.at("rootfs").at("diff_ids").size() != blobs.size() - 1) {
    throw RegistryError(ref.String() + ": the config's diff_ids do not match the manifest's layers");
  }
  Descriptor stored = store.store().Put(m.media_type, m.bytes);
  if (stored.digest != m.digest) throw RegistryError(ref.String() + ": manifest digest changed in the store");
  stored.platform = Platform{config.value("os", platform.os), config.value("architecture", platform.architecture),
                             config.value("variant", "")};
  return stored;
}

}  // namespace

PullResult Pull(RegistryClient& client, const Reference& ref, const Platform& platform, OciLayout& store,
                const std::string& tmp, const std::vector<std::string>& tags, int parallel, const PullNote& note) {
  (void)tmp;
  RegistryClient::Manifest m = client.GetManifest(ref.repository, ref.Object());
  if (IsIndex(m.media_type)) {
    auto index = nlohmann::json::parse(m.bytes);
    std::optional<Descriptor> pick;
    for (const auto& entry : index.at("manifests")) {
      Descriptor d = Descriptor::FromJson(entry);
      if (d.platform && PlatformMatches(platform, *d.platform)) {
        pick = d;
        break;
      }
    }
    if (!pick) {
      std::vector<Descriptor> entries;
      for (const auto& entry : index.at("manifests")) entries.push_back(Descriptor::FromJson(entry));
      throw RegistryError(ref.String() + ": no image for " + PlatformText(platform) + " in its index (it has " +
                          PlatformsText(entries) + ")");
    }
    m = client.GetManifest(ref.repository, pick->digest.str());
  }
  int fetched = 0;
  Descriptor stored = FetchImage(client, ref, m, platform, store, parallel, note, fetched);
  store.Tag(ref.Name(), stored);
  for (const std::string& t : tags) store.Tag(t, stored);
  return {NormalizeTag(ref.Name()), stored, fetched};
}

PullResult PullPlatforms(RegistryClient& client, const Reference& ref, const std::vector<Platform>& platforms,
                         OciLayout& store, const std::vector<std::string>& tags, int parallel, const PullNote& note,
                         const std::vector<Platform>& if_there) {
  RegistryClient::Manifest m = client.GetManifest(ref.repository, ref.Object());
  int fetched = 0;
  if (!IsIndex(m.media_type)) {
    // One image: it serves the platform its config names, if that is one asked for.
    Descriptor stored = FetchImage(client, ref, m, platforms.empty() ? Platform::Host() : platforms.front(), store,
                                   parallel, note, fetched);
    for (const Platform& p : platforms) {
      if (!stored.platform || !PlatformMatches(p, *stored.platform)) {
        throw RegistryError(ref.String() + " is an image for " + (stored.platform ? PlatformText(*stored.platform) : "?") +
                            " only, not " + PlatformText(p));
      }
    }
    store.Tag(ref.Name(), stored);
    for (const std::string& t : tags) store.Tag(t, stored);
    return {NormalizeTag(ref.Name()), stored, fetched};
  }
  // The index is kept whole; the images of the platforms asked for (all, when none is) are fetched.
  if (m.bytes.size() > static_cast<size_t>(media_type::kMaxDocumentSize)) throw RegistryError(ref.String() + ": index too large");
  std::vector<Descriptor> entries;
  const nlohmann::json index_json = nlohmann::json::parse(m.bytes);  // kept: the loop reads into it
  for (const auto& entry : index_json.at("manifests")) entries.push_back(Descriptor::FromJson(entry));
  for (const Platform& p : platforms) {
    bool found = std::any_of(entries.begin(), entries.end(), [&](const Descriptor& d) { return d.platform && PlatformMatches(p, *d.platform); });
    if (!found) throw RegistryError(ref.String() + ": no image for " + PlatformText(p) + " in its index (it has " + PlatformsText(entries) + ")");
  }
  for (const Descriptor& d : entries) {
    if (IsIndex(d.media_type) || !d.platform || d.platform->os == "unknown") continue;  // attestations, nested indexes
    auto matches = [&](const Platform& p) { return PlatformMatches(p, *d.platform); };
    bool wanted = platforms.empty() || std::any_of(platforms.begin(), platforms.end(), matches) ||
                  std::any_of(if_there.begin(), if_there.end(), matches);
    if (!wanted || store.store().Has(d.digest)) continue;
    RegistryClient::Manifest child = client.GetManifest(ref.repository, d.digest.str());
    FetchImage(client, ref, child, *d.platform, store, parallel, note, fetched);
  }
  Descriptor index = store.store().Put(m.media_type, m.bytes);
  if (index.digest != m.digest) throw RegistryError(ref.String() + ": index digest changed in the store");
  store.Tag(ref.Name(), index);
  for (const std::string& t : tags) store.Tag(t, index);
  return {NormalizeTag(ref.Name()), index, fetched};
}

PushResult Push(RegistryClient& client, OciLayout& store, const Descriptor& manifest, const Reference& dest,
                const ExportOptions& export_options, const std::string& tmp, int parallel) {
  if (IsIndex(manifest.media_type)) {
    // A multi-platform image: each platform's image by digest, then the index by the name.
    Descriptor exported = CompressedManifest(store, manifest, export_options);
    PushResult result;
    Reference by_digest = dest;
    for (const Descriptor& each : IndexManifests(store.store(), exported)) {
      by_digest.digest = each.digest.str();
      PushResult part = Push(client, store, each, by_digest, export_options, tmp, parallel);
      result.uploaded += part.uploaded;
      result.existed += part.existed;
      result.mounted += part.mounted;
    }
    client.PutManifest(dest.repository, dest.digest.empty() ? dest.tag : exported.digest.str(),
                       store.store().ReadBlob(exported.digest), media_type::kImageIndex);
    result.manifest = exported;
    return result;
  }
  (void)tmp;
  // Blobs go up straight from the store: compressed once, nothing copied.
  Descriptor exported = CompressedManifest(store, manifest, export_options);
  OciLayout& layout = store;
  std::string bytes = layout.store().ReadBlob(exported.digest);
  Manifest parsed = Manifest::Parse(bytes);
  std::vector<Descriptor> blobs = parsed.layers;
  blobs.push_back(parsed.config);
  // Blobs of images the store has from the same registry can be mounted from their repository.
  std::map<std::string, std::string> origin;  // digest -> repository
  for (const Descriptor& d : store.Manifests()) {
    auto name = d.annotations.find(kRefNameAnnotation);
    if (name == d.annotations.end()) continue;
    try {
      Reference r = Reference::Parse(name->second);
      if (r.domain != dest.domain || r.repository == dest.repository || !store.store().Has(d.digest)) continue;
      auto other = nlohmann::json::parse(store.store().ReadBlob(d.digest));
      for (const auto& l : other.value("layers", nlohmann::json::array())) {
        origin.emplace(l.at("digest").get<std::string>(), r.repository);
      }
    } catch (const std::exception&) {
      // a local-only name: nothing to mount from
    }
  }
  PushResult result;
  std::mutex mu;
  ForEach(blobs.size(), parallel, [&](size_t i) {
    auto from = origin.find(blobs[i].digest.str());
    std::string how = client.PushBlob(dest.repository, blobs[i], layout.store().BlobPath(blobs[i].digest),
                                      from == origin.end() ? "" : from->second);
    std::lock_guard<std::mutex> lock(mu);
    if (how == "uploaded") ++result.uploaded;
    else if (how == "mounted") ++result.mounted;
    else ++result.existed;
  });
  std::string media_type = exported.media_type.empty() ? std::string(media_type::kImageManifest) : exported.media_type;
  client.PutManifest(dest.repository, dest.digest.empty() ? dest.tag : exported.digest.str(), bytes, media_type);
  result.manifest = exported;
  return result;
}

}  // namespace imgbuild::layers::registry
