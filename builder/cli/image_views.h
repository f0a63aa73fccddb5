// The local store seen as docker shows it: one row per name for `images` (untagged images as
// <none>), the `docker image inspect` document, and `docker history` rows. Sizes are of the
// uncompressed layers (the compressed blob's size where the store holds only that).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "layers/descriptor.h"
#include "layers/oci_layout.h"

namespace imgbuild::builder {

struct ImageRow {
  std::string repository = "<none>", tag = "<none>";
  std::string id;        // the config digest (docker's image ID)
  std::string digest;    // the store's manifest digest
  std::string created;   // RFC 3339, from the config
  int64_t created_unix = -1;
  int64_t size = 0;
};

// Sizes are uncompressed, as docker shows them; `memo_dir` (the state dir's compressed/) keeps
// the counts of layers the store holds only compressed (layers/layer_size).

// The image of `d` that is shown: `d` itself, or of a multi-platform image (an index) the
// entry for `platform` (empty: the host's, else the first). Throws std::runtime_error naming the
// platforms there are when the index has no `platform`.
layers::Descriptor ShownManifest(layers::OciLayout& store, const layers::Descriptor& d, const std::string& platform = "");

// Every index entry of the store, newest first (then by name); a multi-platform image is one
// row, its ID the index's digest, its size and time the host's platform's image's.
std::vector<ImageRow> ListImages(layers::OciLayout& store, const std::string& memo_dir);
// The row's fields as `images --format` names them (ID, Repository, Tag, Digest, CreatedAt,
// CreatedSince, Size); `no_trunc` keeps the full ID.
nlohmann::ordered_json RowFields(const ImageRow& row, bool no_trunc, int64_t now);

// `docker image inspect`'s document for the store entry `entry` (of a multi-platform image:
// `platform`'s image, the host's by default; its Id the index digest).
nlohmann::ordered_json DockerInspect(layers::OciLayout& store, const std::string& memo_dir, const layers::Descriptor& entry,
                                     const std::string& platform = "");

struct HistoryRow {
  std::string image = "<missing>";  // the image ID on the newest row
  std::string created, created_by, comment;
  int64_t created_unix = -1;
  int64_t size = 0;
};
// The config's history, newest first, each non-empty entry with the size of its layer.
std::vector<HistoryRow> ImageHistory(layers::OciLayout& store, const std::string& memo_dir, const layers::Descriptor& m);

}  // namespace imgbuild::builder
