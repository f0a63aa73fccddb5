// Image indexes: one name for an image per platform (multi-platform images). Writing an index
// into a content store, reading its entries, and picking the entry for a platform, with the
// matching rules of containerd (an empty variant is the architecture's default: arm/v7, arm64/v8).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "layers/content_store.h"
#include "layers/descriptor.h"

namespace imgbuild::layers {

// An OCI image index or a Docker manifest list.
bool IsIndex(const std::string& media_type);
// "linux/arm64", "linux/arm/v7".
std::string PlatformText(const Platform& p);
// Whether an entry for `have` serves a request for `want`.
bool PlatformMatches(const Platform& want, const Platform& have);

// Puts an OCI index of `manifests` (each with its platform) into `store`; returns its descriptor.
Descriptor PutIndex(ContentStore& store, const std::vector<Descriptor>& manifests,
                    const std::map<std::string, std::string>& annotations = {});
// The entries of the index `index` of `store`. Throws std::invalid_argument for one that is not an index.
std::vector<Descriptor> IndexManifests(ContentStore& store, const Descriptor& index);
// `d` itself when it is an image manifest; for an index, its entry for `want` whose image the
// store holds (nullopt when there is none).
std::optional<Descriptor> SelectPlatform(ContentStore& store, const Descriptor& d, const Platform& want);
// The platforms of an index's entries, as text ("linux/amd64, linux/arm64").
std::string PlatformsText(const std::vector<Descriptor>& manifests);

}  // namespace imgbuild::layers
