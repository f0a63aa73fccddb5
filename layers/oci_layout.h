// An OCI image layout on disk (oci-layout, index.json, blobs/sha256): the local store is one, and
// so is `-o type=oci,tar=false`. Tags are index.json entries annotated with
// org.opencontainers.image.ref.name. Updates to index.json hold an exclusive file lock and are
// written atomically, so concurrent imgbuild processes never lose each other's tags.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "layers/content_store.h"
#include "layers/descriptor.h"

namespace imgbuild::layers {

inline constexpr const char* kRefNameAnnotation = "org.opencontainers.image.ref.name";

class OciLayout {
 public:
  // Creates the layout (oci-layout, empty index.json, blobs/) if it does not exist.
  explicit OciLayout(std::string dir, std::string tmp_dir);

  ContentStore& store() { return store_; }
  const std::string& dir() const { return dir_; }

  std::vector<Descriptor> Manifests() const;  // index.json entries
  std::optional<Descriptor> Find(const std::string& ref) const;
  // Points `ref` at `manifest` (replacing an older entry of that name). The local store names
  // images NAME:TAG (`normalize` adds ":latest"); an exported layout names them by tag alone.
  void Tag(const std::string& ref, Descriptor manifest, bool normalize = true);
  // Removes the entry named `ref`; returns whether there was one.
  bool Untag(const std::string& ref);

 private:
  std::vector<Descriptor> ReadIndex() const;
  void WriteIndex(const std::vector<Descriptor>& manifests);

  std::string dir_;
  std::string lock_path_;  // outside the layout, so the layout holds only what the spec names
  ContentStore store_;
};

// "app" -> "app:latest"; keeps "app:1.0", "reg:5000/app:1", "app@sha256:...".
std::string NormalizeTag(const std::string& ref);

}  // namespace imgbuild::layers
