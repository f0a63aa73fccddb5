#include "layers/image_import.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layers/applier.h"
#include "layers/image.h"
#include "layers/image_index.h"
#include "layers/scratch_dir.h"
#include "layers/sys_error.h"

namespace imgbuild::layers {
namespace {

// An index, manifest or config larger than containerd accepts is refused before it is read.
void CheckDocumentSize(const std::string& path, const struct stat& st) {
  if (st.st_size <= media_type::kMaxDocumentSize) return;
  throw std::runtime_error(path + ": " + std::to_string(st.st_size) + " bytes: a JSON document may have at most " +
                           std::to_string(media_type::kMaxDocumentSize) + " (as containerd)");
}

// Copies a file into the store, verifying it against `expected` when given.
Descriptor ImportBlob(ContentStore& store, const std::string& path, const std::string& media_type,
                      const std::optional<Digest>& expected, std::optional<int64_t> size = std::nullopt) {
  if (expected && store.Has(*expected)) {
    Descriptor d;
    d.media_type = media_type;
    d.digest = *expected;
    d.size = store.Size(*expected).value_or(0);
    return d;
  }
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) throw std::runtime_error(path + " is not a regular file");
  if (media_type.size() >= 4 && media_type.compare(media_type.size() - 4, 4, "json") == 0) CheckDocumentSize(path, st);
  ContentStore::Writer w = store.Ingest();
  ReadChunks(path, [&w](std::string_view b) { w.Write(b); });
  return w.Commit(media_type, expected, size);
}

// An index, manifest or config of the archive, size-bounded before it is read.
std::string ReadDocument(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) throw SysError("stat", path);
  CheckDocumentSize(path, st);
  return ReadFile(path);
}

// A blob of the layout, resolved inside it (a symlink in an archive never reads a host file).
std::string BlobFile(const std::string& layout, const Digest& d) {
  return ResolveInside(layout, "blobs/sha256/" + std::string(d.hex()));
}

// Applies the layer into a throwaway directory: what cannot be applied safely is refused.
void CheckLayer(const std::string& blob, const std::string& tmp) {
  ScratchDir scratch(tmp, "import-", "import-");
  ApplyLayer(blob, scratch.path());
}

std::string DetectLayerType(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  unsigned char magic[4] = {0, 0, 0, 0};
  if (fd) (void)::read(fd.get(), magic, 4);
  if (magic[0] == 0x1f && magic[1] == 0x8b) return media_type::kLayerGzip;
  if (magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd) return media_type::kLayerZstd;
  return media_type::kLayer;
}

// One image manifest of the layout `dir` into the store: its config, its layers (each checked by
// applying it), then the manifest. Returns the stored manifest with the config's platform.
Descriptor ImportManifest(OciLayout& store, const std::string& dir, const Descriptor& d, const std::string& tmp) {
  Manifest manifest = Manifest::Parse(ReadDocument(BlobFile(dir, d.digest)));
  const Descriptor& config = manifest.config;
  ImportBlob(store.store(), BlobFile(dir, config.digest), config.media_type, config.digest, config.size);
  ImageConfig ic = ImageConfig::FromJson(nlohmann::json::parse(store.store().ReadBlob(config.digest)));
  const std::vector<Descriptor>& layer_list = manifest.layers;
  if (layer_list.size() != ic.diff_ids.size()) {
    throw std::runtime_error("image " + d.digest.str() + ": " + std::to_string(layer_list.size()) + " layers but " +
                             std::to_string(ic.diff_ids.size()) + " diff_ids");
  }
  for (const Descriptor& ld : layer_list) {
    std::string path = BlobFile(dir, ld.digest);
    CheckLayer(path, tmp);
    ImportBlob(store.store(), path, ld.media_type, ld.digest, ld.size);
  }
  Descriptor stored = ImportBlob(store.store(), BlobFile(dir, d.digest), d.media_type, d.digest, d.size);
  stored.platform = Platform{ic.platform.os, ic.platform.architecture, ic.platform.variant};
  return stored;
}

std::vector<ImportedImage> ImportOciLayout(OciLayout& store, const std::string& dir, const std::string& name,
                                           const std::string& tmp) {
  nlohmann::json index;
  try {
    index = nlohmann::json::parse(ReadDocument(ResolveInside(dir, "index.json")));
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(dir + "/index.json: " + e.what());
  }
  std::vector<ImportedImage> out;
  for (const auto& entry : index.at("manifests")) {
    Descriptor d = Descriptor::FromJson(entry);
    Descriptor stored;
    if (IsIndex(d.media_type)) {
      // A multi-platform image: each platform's image the layout holds (an index may name more
      // than a layout carries, as containerd's exports do), then the index itself.
      nlohmann::json nested = nlohmann::json::parse(ReadDocument(BlobFile(dir, d.digest)));
      int imported = 0;
      for (const auto& m : nested.at("manifests")) {
        Descriptor md = Descriptor::FromJson(m);
        if (IsIndex(md.media_type)) continue;  // one level: an index of indexes is not an image
        struct stat blob;
        if (::lstat((dir + "/blobs/sha256/" + std::string(md.digest.hex())).c_str(), &blob) != 0) continue;
        ImportManifest(store, dir, md, tmp);
        ++imported;
      }
      if (imported == 0) throw std::runtime_error("the image index " + d.digest.str() + " has none of its images in " + dir);
      stored = ImportBlob(store.store(), BlobFile(dir, d.digest), media_type::kImageIndex, d.digest, d.size);
      stored.media_type = d.media_type;
    } else {
      stored = ImportManifest(store, dir, d, tmp);
    }
    std::string ref = name, bare_tag;
    if (ref.empty() && d.annotations.count("io.containerd.image.name")) ref = d.annotations.at("io.containerd.image.name");
    if (ref.empty() && d.annotations.count(kRefNameAnnotation)) {
      // A ref name with no repository part is a tag of an image the layout does not name.
      const std::string& r = d.annotations.at(kRefNameAnnotation);
      (r.find_first_of(":/@") == std::string::npos ? bare_tag : ref) = r;
    }
    if (ref.empty()) {
      store.AddUntagged(stored);
      out.push_back({"", stored, bare_tag});
    } else {
      out.push_back({store.Tag(ref, stored), stored, ""});
    }
  }
  return out;
}

// Legacy docker-archive: manifest.json lists Config and Layers as files of the archive.
std::vector<ImportedImage> ImportDockerArchive(OciLayout& store, const std::string& dir, const std::string& name,
                                               const std::string& tmp) {
  nlohmann::json list = nlohmann::json::parse(ReadDocument(ResolveInside(dir, "manifest.json")));
  std::vector<ImportedImage> out;
  for (const auto& item : list) {
    // Paths named by manifest.json are resolved inside the archive: `../` or a symlink never
    // reaches a host file (a shared layer stored once and linked is still found).
    std::string config_path = ResolveInside(dir, item.at("Config").get<std::string>());
    Descriptor config = ImportBlob(store.store(), config_path, media_type::kImageConfig, std::nullopt);
    ImageConfig ic = ImageConfig::FromJson(nlohmann::json::parse(store.store().ReadBlob(config.digest)));
    std::vector<Descriptor> layers;
    size_t i = 0;
    for (const auto& l : item.at("Layers")) {
      std::string path = ResolveInside(dir, l.get<std::string>());
      CheckLayer(path, tmp);
      Descriptor ld = ImportBlob(store.store(), path, DetectLayerType(path), std::nullopt);
      if (ld.media_type == media_type::kLayer && i < ic.diff_ids.size() && ld.digest != ic.diff_ids[i]) {
        throw std::runtime_error("layer " + l.get<std::string>() + " does not match diff_id " + ic.diff_ids[i].str());
      }
      layers.push_back(ld);
      ++i;
    }
    Descriptor manifest = store.store().Put(media_type::kImageManifest, ManifestJson(config, layers).dump());
    manifest.platform = Platform{ic.platform.os, ic.platform.architecture, ic.platform.variant};
    std::string ref = name;
    if (ref.empty() && item.contains("RepoTags") && !item["RepoTags"].empty()) ref = item["RepoTags"][0];
    if (ref.empty()) {
      store.AddUntagged(manifest);
      out.push_back({"", manifest, ""});
    } else {
      out.push_back({store.Tag(ref, manifest), manifest, ""});
    }
  }
  return out;
}

}  // namespace

std::vector<ImportedImage> ImportImages(OciLayout& store, const std::string& source, const std::string& name,
                                        const std::string& tmp_dir) {
  struct stat st;
  if (::stat(source.c_str(), &st) != 0) throw SysError("stat", source);
  store.store().ReapAbandoned();  // blobs half-copied by a load that was killed
  std::optional<ScratchDir> unpacked;
  std::string dir = source;
  if (!S_ISDIR(st.st_mode)) {
    unpacked.emplace(tmp_dir, "import-", "import-");
    dir = unpacked->path() + "/image";
    MakeDirs(dir);
    ApplyOptions data;  // the archive itself: the same safety checks as a layer, but it is data
    data.overlay_format = false;
    data.whiteouts = false;
    data.allow_devices = false;
    ApplyLayer(source, dir, data);
  }
  if (::stat((dir + "/index.json").c_str(), &st) == 0) return ImportOciLayout(store, dir, name, tmp_dir);
  if (::stat((dir + "/manifest.json").c_str(), &st) == 0) return ImportDockerArchive(store, dir, name, tmp_dir);
  throw std::runtime_error(source + " is neither an OCI layout (index.json) nor a docker archive (manifest.json)");
}

}  // namespace imgbuild::layers
