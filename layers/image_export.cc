#include "layers/image_export.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "layers/applier.h"
#include "layers/layer_writer.h"
#include "layers/image.h"
#include "layers/image_index.h"
#include "layers/scratch_dir.h"
#include "layers/tar_names.h"
#include "layers/sys_error.h"

namespace imgbuild::layers {
namespace {

namespace fs = std::filesystem;

void CopyBlob(ContentStore& from, ContentStore& to, const Digest& d) {
  if (to.Has(d)) return;
  ContentStore::Writer w = to.Ingest();
  ReadChunks(from.BlobPath(d), [&w](std::string_view b) { w.Write(b); });
  w.Commit("", d);
}

// Tars `dir` to `dest` with entries sorted, so the same layout gives the same tar.
void TarDirectory(const std::string& dir, const std::string& tmp, const std::string& dest) {
  std::vector<std::string> paths;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) {
    paths.push_back(fs::relative(it->path(), dir).string());
  }
  std::sort(paths.begin(), paths.end());
  TarNames names(TarNames::Mode::kWrite);
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_add_filter_none(a);
  if (archive_write_open_filename(a, tmp.c_str()) != ARCHIVE_OK) {
    const char* why = archive_error_string(a);  // NULL when libarchive set none
    std::string err = why ? why : std::strerror(errno);
    archive_write_free(a);
    throw std::runtime_error("write " + tmp + ": " + err);
  }
  std::vector<char> buf(1 << 20);
  for (const std::string& rel : paths) {
    std::string full = dir + "/" + rel;
    struct stat st;
    if (::lstat(full.c_str(), &st) != 0) throw SysError("lstat", full);
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, S_ISDIR(st.st_mode) ? (rel + "/").c_str() : rel.c_str());
    archive_entry_set_mode(e, S_ISDIR(st.st_mode) ? (S_IFDIR | 0755) : (S_IFREG | 0644));
    archive_entry_set_size(e, S_ISREG(st.st_mode) ? st.st_size : 0);
    archive_entry_set_mtime(e, 0, 0);
    archive_write_header(a, e);
    archive_entry_free(e);
    if (S_ISREG(st.st_mode)) {
      UniqueFd in(::open(full.c_str(), O_RDONLY | O_CLOEXEC));
      if (!in) throw SysError("open", full);
      ssize_t n;
      while ((n = ::read(in.get(), buf.data(), buf.size())) > 0) archive_write_data(a, buf.data(), static_cast<size_t>(n));
    }
  }
  if (archive_write_close(a) != ARCHIVE_OK) {
    const char* why = archive_error_string(a);  // NULL when libarchive set none
    std::string err = why ? why : std::strerror(errno);
    archive_write_free(a);
    throw std::runtime_error("write " + tmp + ": " + err);
  }
  archive_write_free(a);
  if (::rename(tmp.c_str(), dest.c_str()) != 0) throw SysError("rename", tmp);
}

}  // namespace

Descriptor CompressedManifest(OciLayout& from, const Descriptor& source_manifest, const ExportOptions& options) {
  if (IsIndex(source_manifest.media_type)) {
    // Each platform's manifest compressed; a new index when any of them changed.
    std::vector<Descriptor> entries = IndexManifests(from.store(), source_manifest);
    bool changed = false;
    for (Descriptor& e : entries) {
      Descriptor c = CompressedManifest(from, e, options);
      if (c.digest == e.digest) continue;
      c.platform = e.platform;
      c.annotations = e.annotations;
      e = c;
      changed = true;
    }
    if (!changed) return source_manifest;
    Descriptor index = PutIndex(from.store(), entries);
    index.platform = source_manifest.platform;
    return index;
  }
  LayerOptions lo;
  lo.compression = options.compression;
  lo.level = options.level;
  Manifest m = Manifest::Parse(from.store().ReadBlob(source_manifest.digest));
  const Descriptor& config = m.config;
  std::vector<Descriptor> layer_descs;
  bool changed = false;
  for (Descriptor d : m.layers) {
    if (d.media_type == media_type::kLayer && options.compression != Compression::kUncompressed) {
      d = CompressLayer(from.store(), d, lo, options.memo_dir);
      changed = true;
    }
    layer_descs.push_back(d);
  }
  if (!changed) return source_manifest;
  Descriptor manifest = from.store().Put(media_type::kImageManifest, ManifestJson(config, layer_descs, m.annotations).dump());
  manifest.platform = source_manifest.platform;
  return manifest;
}

std::vector<Descriptor> ExportImages(OciLayout& from, const std::vector<ExportItem>& images, ExportFormat format,
                                     const std::string& dest, const ExportOptions& options) {
  // Staging sits beside the destination so every rename stays on one filesystem; the staging of
  // an export that was killed is removed by the next export into that directory.
  fs::path dest_path(dest);
  std::string parent = dest_path.has_parent_path() ? dest_path.parent_path().string() : ".";
  ScratchDir staging_dir(parent, "." + dest_path.filename().string() + ".imgbuild-", ".imgbuild-");
  const std::string& staging = staging_dir.path();
  std::string dir = format == ExportFormat::kOciDir ? dest : staging + "/layout";
  MakeDirs(dir);
  OciLayout out(dir, staging + "/tmp");
  std::vector<Descriptor> exported;
  nlohmann::ordered_json docker_items = nlohmann::ordered_json::array();
  nlohmann::ordered_json repos = nlohmann::ordered_json::object();
  for (const ExportItem& image : images) {
    const Descriptor& source_manifest = image.manifest;
    const std::vector<std::string>& refs = image.refs;
    Descriptor manifest = CompressedManifest(from, source_manifest, options);
    // A multi-platform image: every platform's blobs, then the index. docker's manifest.json
    // (one image per name) gets the host's platform, else the first.
    std::vector<Descriptor> platforms;
    if (IsIndex(manifest.media_type)) platforms = IndexManifests(from.store(), manifest);
    Descriptor shown = manifest;
    if (!platforms.empty()) {
      std::optional<Descriptor> host = SelectPlatform(from.store(), manifest, Platform::Host());
      shown = host ? *host : platforms.front();
    }
    for (const Descriptor& each : platforms.empty() ? std::vector<Descriptor>{manifest} : platforms) {
      Manifest pm = Manifest::Parse(from.store().ReadBlob(each.digest));
      CopyBlob(from.store(), out.store(), pm.config.digest);
      for (const Descriptor& l : pm.layers) CopyBlob(from.store(), out.store(), l.digest);
      CopyBlob(from.store(), out.store(), each.digest);
    }
    CopyBlob(from.store(), out.store(), manifest.digest);
    Manifest m = Manifest::Parse(from.store().ReadBlob(shown.digest));
    const Descriptor& config = m.config;
    const std::vector<Descriptor>& layer_descs = m.layers;
    Descriptor entry = manifest;
    entry.annotations.clear();
    if (refs.empty()) out.Tag("latest", entry, false);
    for (const std::string& r : refs) {
      // In an OCI layout the ref name is the tag part; docker also wants the full name.
      std::string name = NormalizeTag(r);
      Descriptor named = entry;
      named.annotations["io.containerd.image.name"] = FullName(r);  // as BuildKit's exporters write it
      size_t colon = name.find_last_of(':');
      out.Tag(format == ExportFormat::kDockerTar ? name : name.substr(colon + 1), named, false);
    }
    if (format == ExportFormat::kDockerTar) {
      nlohmann::ordered_json item;
      item["Config"] = "blobs/sha256/" + std::string(config.digest.hex());
      nlohmann::ordered_json tags = nlohmann::ordered_json::array();
      for (const std::string& r : refs) {
        std::string name = NormalizeTag(r);
        size_t colon = name.find_last_of(':');
        tags.push_back(name);
        repos[name.substr(0, colon)][name.substr(colon + 1)] = std::string(manifest.digest.hex());
      }
      item["RepoTags"] = tags;
      nlohmann::ordered_json ls = nlohmann::ordered_json::array();
      for (const Descriptor& l : layer_descs) ls.push_back("blobs/sha256/" + std::string(l.digest.hex()));
      item["Layers"] = ls;
      docker_items.push_back(item);
    }
    exported.push_back(manifest);
  }
  if (format == ExportFormat::kDockerTar) {
    WriteFileAtomic(dir + "/manifest.json", docker_items.dump());
    WriteFileAtomic(dir + "/repositories", repos.dump());
  }
  if (format != ExportFormat::kOciDir) TarDirectory(dir, staging + "/out.tar", dest);
  return exported;
}

Descriptor ExportImage(OciLayout& from, const Descriptor& manifest, const std::vector<std::string>& refs,
                       ExportFormat format, const std::string& dest, const ExportOptions& options) {
  return ExportImages(from, {{manifest, refs}}, format, dest, options).front();
}

void ExportRootfs(OciLayout& from, const Descriptor& manifest, const std::string& dest_dir) {
  MakeDirs(dest_dir);
  if (IsIndex(manifest.media_type)) {
    // One directory per platform, named as buildx names them: linux_arm64, linux_arm_v7.
    for (const Descriptor& each : IndexManifests(from.store(), manifest)) {
      if (!each.platform) continue;
      std::string name = PlatformText(*each.platform);
      std::replace(name.begin(), name.end(), '/', '_');
      ExportRootfs(from, each, dest_dir + "/" + name);
    }
    return;
  }
  ApplyOptions options;
  options.overlay_format = false;
  for (const Descriptor& d : Manifest::Parse(from.store().ReadBlob(manifest.digest)).layers) {
    ApplyLayer(from.store().BlobPath(d.digest), dest_dir, options);
  }
}

void ExportRootfsTar(OciLayout& from, const Descriptor& manifest, const std::string& dest_file,
                     const std::optional<int64_t>& source_date_epoch) {
  fs::path dest_path(dest_file);
  std::string parent = dest_path.has_parent_path() ? dest_path.parent_path().string() : ".";
  ScratchDir staging(parent, "." + dest_path.filename().string() + ".imgbuild-", ".imgbuild-");
  ExportRootfs(from, manifest, staging.path() + "/rootfs");
  LayerOptions options;
  options.source_date_epoch = source_date_epoch;
  WriteTreeTar(staging.path() + "/rootfs", dest_file, options, staging.path() + "/out.tar");
}

}  // namespace imgbuild::layers
