// A stage as it is being built, as a value: its image so far (config, layers), the committed
// snapshot holding its files and the cache key of what has been done. Steps take one and give
// the next; a finished stage's state is what later stages read.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cache/cache_key.h"
#include "layers/descriptor.h"
#include "layers/image.h"

namespace imgbuild::builder {

struct StageImage {
  std::optional<cache::CacheKey> key;  // cache key of the stage so far
  std::string commit_as;  // the name the current step's snapshot is committed under ("": a temporary one)
  bool reuse = true;      // earlier results may be built on (false under --no-cache / --no-cache-filter)
  layers::ImageConfig config;
  std::vector<layers::Descriptor> layers;
  std::string snapshot;  // committed snapshot holding the stage's files ("" for none)
  std::optional<layers::Descriptor> base_manifest;
  std::string base_name;

  void History(const std::string& created, const std::string& created_by, bool empty_layer) {
    config.history.push_back({created, created_by, "", empty_layer});
  }
};

}  // namespace imgbuild::builder
