// OCI vocabulary: media types, Platform and Descriptor, with their JSON forms.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "layers/digest.h"

namespace imgbuild::layers {

namespace media_type {
inline constexpr const char* kImageIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* kImageManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kImageConfig = "application/vnd.oci.image.config.v1+json";
// The largest index, manifest or config imgbuild reads (from a registry or `load`), as containerd.
inline constexpr int64_t kMaxDocumentSize = 4 << 20;
inline constexpr const char* kLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr const char* kLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr const char* kLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr const char* kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr const char* kDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr const char* kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr const char* kDockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
}  // namespace media_type

struct Platform {
  std::string os = "linux";
  std::string architecture;
  std::string variant;

  static Platform Host();
  nlohmann::ordered_json ToJson() const;
};

struct Descriptor {
  std::string media_type;
  Digest digest = Digest::OfBytes("");
  int64_t size = 0;
  std::map<std::string, std::string> annotations;
  std::optional<Platform> platform;

  nlohmann::ordered_json ToJson() const;
  static Descriptor FromJson(const nlohmann::json& j);  // throws std::invalid_argument
};

}  // namespace imgbuild::layers
