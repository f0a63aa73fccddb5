// LayerWriter: a snapshot directory in overlay format (whiteouts are 0/0 character devices, opaque
// directories carry trusted.overlay.opaque=y) -> a deterministic layer tar, written in one
// streaming pass that yields the uncompressed diff_id and the (optionally compressed) blob in the
// content store. Entries are sorted, parents first; ids numeric; no atime/ctime; mtimes clamped to
// SOURCE_DATE_EPOCH when given; hardlinks inside the layer kept as links; security.capability and
// user.* xattrs kept, overlay xattrs never.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "layers/content_store.h"
#include "layers/descriptor.h"
#include "layers/layer_marks.h"
#include "layers/pending_fills.h"

namespace imgbuild::layers {

enum class Compression { kUncompressed, kGzip, kZstd };

struct LayerOptions {
  Compression compression = Compression::kUncompressed;
  int level = -1;  // -1: the codec's default (gzip 6, zstd 3)
  std::optional<int64_t> source_date_epoch;
};

struct LayerResult {
  Digest diff_id = Digest::OfBytes("");
  Descriptor blob;  // media type set from the compression
  int64_t entries = 0;
};

// With `expected`, a tar that hashes to anything else is not stored (std::runtime_error): how a
// deferred layer is made from its snapshot.
LayerResult WriteLayer(const std::string& snapshot_dir, const LayerOptions& options, const ContentStore& store,
                       const std::optional<Digest>& expected = std::nullopt);
// The uncompressed tar WriteLayer would write, hashed and counted, with nothing written: its
// diff_id, and `blob` its descriptor (media type uncompressed, digest = diff_id, size).
LayerResult HashLayer(const std::string& snapshot_dir, const LayerOptions& options);
// The same of several changes stacked (top first) and seen as one (layer_walk.h, WalkMerged).
LayerResult WriteLayer(const std::vector<std::string>& dirs, const LayerOptions& options, const ContentStore& store,
                       const std::optional<Digest>& expected = std::nullopt);
// With `fills`, the pending files of the top directory are written as the walk reaches them
// (pending_fills.h); any it did not reach are written after, and the whole is hashed again.
// With `marks`, the hash resumes from the previous layer's marks where it can and records the
// new layer's (layer_marks.h).
LayerResult HashLayer(const std::vector<std::string>& dirs, const LayerOptions& options,
                      PendingFills* fills = nullptr, HashMarks* marks = nullptr);

// The same tar of any directory tree, written to a file (for rootfs exports); returns its digest.
// `tmp` (default DEST.tmp) is where the tar is written before it is renamed to DEST.
Digest WriteTreeTar(const std::string& dir, const std::string& dest, const LayerOptions& options = {},
                    const std::string& tmp = "");

// Compresses an uncompressed layer blob of the store (once: the result is remembered in
// `memo_dir` per diff_id, codec and level). Returns the compressed blob's descriptor.
Descriptor CompressLayer(ContentStore& store, const Descriptor& uncompressed, const LayerOptions& options,
                         const std::string& memo_dir);

// The other direction, for a compressed layer that came from elsewhere (a registry cache): the
// blob `compressed` of the store decompressed into the store, verified against `diff_id`, and
// remembered in `memo_dir` as the codec's default-level form of that layer, so CompressLayer
// returns it instead of compressing again. Returns the uncompressed blob's descriptor.
Descriptor DecompressLayer(ContentStore& store, const Descriptor& compressed, const Digest& diff_id,
                           const std::string& memo_dir);

// Parses "gzip", "zstd", "uncompressed". Throws std::invalid_argument.
Compression ParseCompression(const std::string& name);
// Throws std::invalid_argument unless `level` is -1 (the default) or valid for the codec
// (gzip 0-9, zstd 1-22); uncompressed takes any level (it has none).
void CheckLevel(Compression compression, int level);

}  // namespace imgbuild::layers
