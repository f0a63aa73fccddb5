// Reading images into the local store: OCI layout directories and tars (including the Docker 25+
// `docker save` format) and legacy docker-archive tars (manifest.json + layer tars). Every blob is
// verified against its digest, every layer is checked by applying it into a scratch directory
// (hostile layers are refused), and only then is the image tagged.
#pragma once

#include <string>
#include <vector>

#include "layers/oci_layout.h"

namespace imgbuild::layers {

struct ImportedImage {
  std::string name;  // as tagged in the store; "" when loaded untagged
  Descriptor manifest;
  // An OCI layout names an image by a bare tag ("latest", as skopeo and buildah write it): no
  // image name, so the image is loaded untagged and this says which tag was not used.
  std::string bare_tag;
};

// `source` is a directory or a tar file. `name` (optional) overrides the names in the source.
std::vector<ImportedImage> ImportImages(OciLayout& store, const std::string& source, const std::string& name,
                                        const std::string& tmp_dir);

}  // namespace imgbuild::layers
