// Hash marks of a layer tar: the diff_id hash's state at entry boundaries (about every 4 MiB of
// the stream), so that the layer of a snapshot stacked on this one (an incremental COPY's next
// result, layer_walk.h WalkMerged) is hashed from the last mark before its first change instead
// of from the start: its entries before that point are this layer's, the very same files.
// MarkedSha256 is the diff_id's SHA-256 with a state that can be saved and restored.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "layers/digest.h"

namespace imgbuild::layers {

class MarkedSha256 {
 public:
  MarkedSha256();
  ~MarkedSha256();
  MarkedSha256(const MarkedSha256&) = delete;
  MarkedSha256& operator=(const MarkedSha256&) = delete;

  void Update(std::string_view bytes);
  Digest Finish();
  int64_t offset() const { return offset_; }
  // The state after `offset()` bytes, as bytes; Restore takes it back (false when it is not a
  // state this class saved at a 64-byte boundary: nothing is changed then).
  std::string State() const;
  bool Restore(std::string_view state, int64_t offset);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int64_t offset_ = 0;
};

struct LayerMark {
  int64_t entry = 0;    // entries of the walk written before it
  std::string rel;      // the last of them (a check that the walk is the same)
  int64_t offset = 0;   // bytes of the stream before it
  int64_t entries = 0;  // tar entries counted (LayerResult::entries)
  std::string state;    // MarkedSha256::State()
};

struct LayerMarks {
  std::optional<int64_t> source_date_epoch;  // the layer's: marks only serve a layer made alike
  std::vector<LayerMark> marks;

  std::string Serialize() const;
  // std::nullopt for anything that is not what Serialize wrote.
  static std::optional<LayerMarks> Parse(const std::string& text);
};

// What HashLayer does with marks: resumes from `previous` (those of the layer the top directory
// is stacked on) where it can, and records the new layer's in `recorded`.
struct HashMarks {
  const LayerMarks* previous = nullptr;
  LayerMarks recorded;
  int64_t resumed_at = 0;  // bytes of the stream taken from a mark (0: hashed from the start)
};

}  // namespace imgbuild::layers
