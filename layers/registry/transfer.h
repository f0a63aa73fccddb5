// Images between the local store and a registry. Pull: the manifest (from an index, the one for
// the platform), then config and layers streamed into the store several at once, each verified
// against its digest and size; the image is tagged only when all are there (layers are checked by
// the applier when a build unpacks them). Push: the image leaves the store as an export does
// (layers compressed once, remembered), blobs go up straight from the store several at once (HEAD
// first, cross-repository mount when the store knows a source), then the manifest.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "layers/descriptor.h"
#include "layers/image_export.h"
#include "layers/oci_layout.h"
#include "layers/registry/client.h"
#include "layers/registry/reference.h"

namespace imgbuild::layers::registry {

struct PullResult {
  std::string name;  // as tagged in the store
  Descriptor manifest;
  int blobs_fetched = 0;
};

// `tags` are the store names to give the image (ref.Name() is always one). `note`, when set, is
// told what is fetched ("pulling REF: 3 layers, 12.3 MB", then each blob as it arrives), from one
// thread at a time.
using PullNote = std::function<void(const std::string&)>;
PullResult Pull(RegistryClient& client, const Reference& ref, const Platform& platform, OciLayout& store,
                const std::string& tmp, const std::vector<std::string>& tags = {}, int parallel = 4,
                const PullNote& note = {});

// A multi-platform pull: when `ref` is an index, it is kept whole (tagged) with the images of
// `platforms` fetched (every platform's when empty; attestations are not images); a platform the
// index lacks is an error naming those it has. A single image must be for every platform asked.
// `if_there`: platforms fetched too when the index has them (a build's own, for its
// FROM --platform=$BUILDPLATFORM stages).
PullResult PullPlatforms(RegistryClient& client, const Reference& ref, const std::vector<Platform>& platforms,
                         OciLayout& store, const std::vector<std::string>& tags = {}, int parallel = 4,
                         const PullNote& note = {}, const std::vector<Platform>& if_there = {});

struct PushResult {
  Descriptor manifest;  // as pushed (compressed layers)
  int uploaded = 0, existed = 0, mounted = 0;
};

PushResult Push(RegistryClient& client, OciLayout& store, const Descriptor& manifest, const Reference& dest,
                const ExportOptions& export_options, const std::string& tmp, int parallel = 4);
// (`tmp` is kept for callers; nothing is staged any more.)

}  // namespace imgbuild::layers::registry
