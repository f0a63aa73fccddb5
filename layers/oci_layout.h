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
  // The manifest named `ref` (names compare after normalisation, so "busybox" finds an entry
  // stored as "docker.io/library/busybox:latest"); or by digest (`sha256:...`, `NAME@sha256:...`):
  // the manifest with that digest, or the image whose config has it (docker's image ID); or, when
  // no name matches, a short ID: a hex prefix of one image's config or manifest digest. Throws
  // layers::Error for a digest whose blob is not an image manifest and for an ambiguous short ID.
  std::optional<Descriptor> Find(const std::string& ref) const;
  // Points `ref` at `manifest` (replacing an older entry of that name; one that already says
  // exactly this is left as it is, nothing written) and returns the name
  // stored. The local store keeps NormalizeTag(ref) (`normalize`); an exported layout may name
  // images by tag alone.
  std::string Tag(const std::string& ref, Descriptor manifest, bool normalize = true);
  // Adds `manifest` with no name (an image loaded untagged), unless an entry has that digest.
  void AddUntagged(Descriptor manifest);
  // Removes the entry named `ref`; returns whether there was one.
  bool Untag(const std::string& ref);
  // Removes every entry of the manifest `digest`; returns the names they had ("" for an untagged one).
  std::vector<std::string> RemoveImage(const Digest& digest);

 private:
  std::vector<Descriptor> ReadIndex() const;
  void WriteIndex(const std::vector<Descriptor>& manifests);

  std::string dir_;
  std::string lock_path_;  // outside the layout, so the layout holds only what the spec names
  ContentStore store_;
};

// Image names as Docker normalises them. NormalizeTag gives the familiar form the store keeps
// and shows: "busybox", "library/busybox" and "docker.io/library/busybox:latest" are all
// "busybox:latest"; "reg:5000/app" is "reg:5000/app:latest"; "app@sha256:..." keeps its digest.
// FullName gives the fully qualified form ("docker.io/library/busybox:latest"). A text that is
// not a valid reference is kept as it is, with ":latest" added when it names no tag.
std::string NormalizeTag(const std::string& ref);
std::string FullName(const std::string& ref);

}  // namespace imgbuild::layers
