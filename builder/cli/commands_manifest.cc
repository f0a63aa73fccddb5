// `imgbuild manifest inspect REF` and `imgbuild manifest create NAME SRC...`: image indexes as
// `docker buildx imagetools` shows and makes them, for the local store and registries.
#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "builder/cli/commands.h"
#include "builder/cli/registry_access.h"
#include "builder/state/gc.h"
#include "builder/state/state_dir.h"
#include "layers/image.h"
#include "layers/image_index.h"
#include "layers/oci_layout.h"
#include "layers/registry/transfer.h"

namespace imgbuild::builder {
namespace {

using namespace layers::registry;

struct Shown {
  std::string name, media_type, bytes;
  layers::Digest digest = layers::Digest::OfBytes("");
  std::optional<layers::Platform> platform;  // a single image's, from its config (local only)
};

// The platform a manifest of the store is for, from its config.
std::optional<layers::Platform> ConfigPlatform(layers::OciLayout& store, const layers::Descriptor& m) {
  try {
    layers::Manifest manifest = layers::Manifest::Parse(store.store().ReadBlob(m.digest));
    layers::ImageConfig c = layers::ImageConfig::FromJson(nlohmann::json::parse(store.store().ReadBlob(manifest.config.digest)));
    return c.platform;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void Print(const Shown& s, std::ostream& out) {
  out << "Name:      " << s.name << "\n"
      << "MediaType: " << s.media_type << "\n"
      << "Digest:    " << s.digest.str() << "\n";
  if (s.platform) out << "Platform:  " << layers::PlatformText(*s.platform) << "\n";
  if (!layers::IsIndex(s.media_type)) return;
  out << "\nManifests:\n";
  bool first = true;
  const nlohmann::json index = nlohmann::json::parse(s.bytes);  // named: the loop reads into it
  for (const auto& e : index.at("manifests")) {
    layers::Descriptor d = layers::Descriptor::FromJson(e);
    if (!first) out << "\n";
    first = false;
    std::string base = s.name.substr(0, s.name.find('@'));
    out << "  Name:      " << base << "@" << d.digest.str() << "\n"
        << "  MediaType: " << d.media_type << "\n";
    if (d.platform) out << "  Platform:  " << layers::PlatformText(*d.platform) << "\n";
  }
}

}  // namespace

int RunManifestInspect(const ManifestOptions& options, std::ostream& out, std::ostream& err) {
  return Guarded(err, [&] {
    Shown shown;
    bool found = false;
    if (!options.remote) {
      std::string root = StateDir::Open(options.root).root();
      GcLock lock = GcLock::Shared(root);
      layers::OciLayout store = LocalStore(StateDir(root));
      if (std::optional<layers::Descriptor> d = store.Find(options.name)) {
        shown.name = layers::FullName(options.name);
        shown.digest = d->digest;
        shown.bytes = store.store().ReadBlob(d->digest);
        auto j = nlohmann::json::parse(shown.bytes);
        shown.media_type = j.value("mediaType", d->media_type);
        if (!layers::IsIndex(shown.media_type)) shown.platform = ConfigPlatform(store, *d);
        found = true;
      }
    }
    if (!found) {
      // Not in the store (or --remote): the registry's.
      Reference ref = Reference::Parse(options.name);
      RegistryCommandOptions ro;
      ro.tls_verify = options.tls_verify;
      BlobMeter meter = MakeMeter(err);
      RegistryClient client(ref.domain, ClientOptions(ro, meter));
      RegistryClient::Manifest m = client.GetManifest(ref.repository, ref.Object());
      shown.name = ref.String();
      shown.media_type = m.media_type;
      shown.digest = m.digest;
      shown.bytes = m.bytes;
    }
    if (options.raw) {
      out << shown.bytes << "\n";
    } else {
      Print(shown, out);
    }
    return 0;
  });
}

int RunManifestCreate(const ManifestOptions& options, std::ostream& out, std::ostream& err) {
  return Guarded(err, [&] {
    Reference name = Reference::Parse(options.name);  // checked before anything is fetched
    std::string root = StateDir::Open(options.root).root();
    GcLock lock = GcLock::Shared(root);
    layers::OciLayout store = LocalStore(StateDir(root));
    RegistryCommandOptions ro;
    ro.tls_verify = options.tls_verify;
    BlobMeter meter = MakeMeter(err);
    std::vector<layers::Descriptor> entries;
    std::map<std::string, std::string> source_of;  // platform -> the source that gave it
    for (const std::string& src : options.sources) {
      std::optional<layers::Descriptor> d = store.Find(src);
      if (!d) {
        // A source the store lacks is pulled (every platform of an index).
        Reference ref = Reference::Parse(src);
        RegistryClient client(ref.domain, ClientOptions(ro, meter));
        PullPlatforms(client, ref, {}, store, {layers::NormalizeTag(src)}, 4, [&meter](const std::string& l) { meter.Line(l); });
        d = store.Find(src);
        if (!d) throw std::runtime_error("pulled " + src + " but the store does not name it");
      }
      std::vector<layers::Descriptor> from;
      if (layers::IsIndex(d->media_type)) {
        for (const layers::Descriptor& e : layers::IndexManifests(store.store(), *d)) {
          if (!layers::IsIndex(e.media_type) && store.store().Has(e.digest)) from.push_back(e);
        }
      } else {
        layers::Descriptor e = *d;
        e.platform = ConfigPlatform(store, *d);
        from.push_back(e);
      }
      for (layers::Descriptor e : from) {
        if (!e.platform || e.platform->architecture.empty()) throw std::runtime_error(src + ": an image that names no platform");
        std::string p = layers::PlatformText(*e.platform);
        if (source_of.count(p)) throw std::invalid_argument("two images for " + p + ": " + source_of[p] + " and " + src);
        source_of[p] = src;
        e.annotations.clear();
        entries.push_back(e);
      }
    }
    if (entries.empty()) throw std::invalid_argument("manifest create needs at least one source image");
    layers::Descriptor index = layers::PutIndex(store.store(), entries);
    std::string tagged = store.Tag(options.name, index);
    meter.Line("created " + tagged + " (" + std::to_string(entries.size()) + " platforms)");
    if (options.push) {
      RegistryClient client(name.domain, ClientOptions(ro, meter));
      layers::ExportOptions eo;
      eo.memo_dir = StateDir(root).compressed();
      PushResult r = Push(client, store, index, name, eo, StateDir(root).tmp());
      meter.Line("pushed " + name.String() + ": " + std::to_string(r.uploaded) + " blobs uploaded, " + std::to_string(r.existed) +
                 " already there");
      out << r.manifest.digest.str() << "\n";
      return 0;
    }
    out << index.digest.str() << "\n";
    return 0;
  });
}

}  // namespace imgbuild::builder
