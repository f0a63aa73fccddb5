// Writing an image out of the local store: an OCI layout directory or tar, and the `docker save`
// format of Docker 25+ (an OCI layout plus manifest.json and repositories, so both `docker load`
// and OCI tools accept it).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "layers/descriptor.h"
#include "layers/oci_layout.h"

namespace imgbuild::layers {

enum class ExportFormat { kOciDir, kOciTar, kDockerTar };

// `refs` name the image in the export (index.json ref names; RepoTags for docker).
void ExportImage(OciLayout& from, const Descriptor& manifest, const std::vector<std::string>& refs,
                 ExportFormat format, const std::string& dest, const std::string& tmp_dir);

// The image's root filesystem: its layers unpacked on top of each other (whiteouts applied) into
// `dest_dir` (type=local), or that tree as one tar at `dest_file` (type=tar).
void ExportRootfs(OciLayout& from, const Descriptor& manifest, const std::string& dest_dir);
void ExportRootfsTar(OciLayout& from, const Descriptor& manifest, const std::string& dest_file,
                     const std::optional<int64_t>& source_date_epoch);

}  // namespace imgbuild::layers
