// Writing an image out of the local store: an OCI layout directory or tar, and the `docker save`
// format of Docker 25+ (an OCI layout plus manifest.json and repositories, so both `docker load`
// and OCI tools accept it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "layers/descriptor.h"
#include "layers/layer_writer.h"
#include "layers/oci_layout.h"

namespace imgbuild::layers {

enum class ExportFormat { kOciDir, kOciTar, kDockerTar };

struct ExportOptions {
  Compression compression = Compression::kGzip;  // layers leave the store compressed
  int level = -1;
  std::string memo_dir;  // where compressed descriptors are remembered (ROOT/compressed)
};

// `refs` name the image in the export (index.json ref names; RepoTags for docker). Layers are
// compressed on the way out (remembered, so each layer is compressed once); the exported manifest
// names the compressed blobs. Returns the exported manifest's descriptor.
Descriptor ExportImage(OciLayout& from, const Descriptor& manifest, const std::vector<std::string>& refs,
                       ExportFormat format, const std::string& dest, const ExportOptions& options);

// The image as it leaves the store: its manifest with compressed layers (each compressed once and
// remembered), written into the store beside the original. Every blob it names is in `from`.
Descriptor CompressedManifest(OciLayout& from, const Descriptor& manifest, const ExportOptions& options);

struct ExportItem {
  Descriptor manifest;
  std::vector<std::string> refs;
};

// Several images in one layout or archive (`imgbuild save A B`), blobs shared.
std::vector<Descriptor> ExportImages(OciLayout& from, const std::vector<ExportItem>& images, ExportFormat format,
                                     const std::string& dest, const ExportOptions& options);

// The image's root filesystem: its layers unpacked on top of each other (whiteouts applied) into
// `dest_dir` (type=local), or that tree as one tar at `dest_file` (type=tar).
void ExportRootfs(OciLayout& from, const Descriptor& manifest, const std::string& dest_dir);
void ExportRootfsTar(OciLayout& from, const Descriptor& manifest, const std::string& dest_file,
                     const std::optional<int64_t>& source_date_epoch);

}  // namespace imgbuild::layers
