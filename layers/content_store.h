// The content store: blobs by digest under ROOT/oci/blobs/sha256 (the local store's OCI layout).
// Writes stream into a temp file beside it, are verified (size and digest) on commit, fsynced and
// renamed into place read-only. Two writers of the same blob at once are safe: the second rename
// replaces identical bytes, and readers only ever see complete blobs.
//
// Deferred layers (the local store only, see DeferLayersTo): a layer a build made from a snapshot
// may be kept as a recipe instead of bytes (the snapshot directory it is the tar of). It counts
// as present; the first reader of its bytes (BlobPath) writes it, verified against its digest.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "layers/descriptor.h"
#include "layers/digest.h"
#include "layers/sys_error.h"

namespace imgbuild::layers {

class ContentStore {
 public:
  // `layout_dir` is the OCI layout root (holding blobs/); `tmp_dir` is on the same filesystem.
  ContentStore(std::string layout_dir, std::string tmp_dir);

  bool Has(const Digest& d) const;  // stored, or deferred with its snapshot there
  // The blob's file; a deferred blob is written first (throws if its snapshot no longer gives it).
  std::string BlobPath(const Digest& d) const;
  std::optional<int64_t> Size(const Digest& d) const;  // stored or deferred; none is made
  int64_t DiskBytes(const Digest& d) const;            // what it takes on disk now (0: deferred)

  // Turns deferred layers on: recipes live in `recipes_dir`, and name snapshot directories below
  // `base_dir`. Off by default, so a layout read from elsewhere never follows a recipe.
  void DeferLayersTo(std::string recipes_dir, std::string base_dir);
  bool deferring() const { return !recipes_dir_.empty(); }
  // Records `layer` (uncompressed, hashed by HashLayer) as the tar of `snapshot_dirs` (below the
  // base dir; several: changes stacked, top first) made with `source_date_epoch`; the snapshots
  // must stay unchanged while it is used.
  void Defer(const Descriptor& layer, const std::vector<std::string>& snapshot_dirs,
             std::optional<int64_t> source_date_epoch) const;
  // The (top) snapshot directory a deferred blob would be made from; std::nullopt when it is
  // stored, absent, or its recipe is unusable.
  std::optional<std::string> DeferredSource(const Digest& d) const;
  // The snapshot directory a layer was hashed from, stored since or not (std::nullopt: none).
  std::optional<std::string> SourceDir(const Digest& d) const;
  std::string ReadBlob(const Digest& d) const;  // for small blobs (JSON)
  Descriptor Put(const std::string& media_type, std::string_view bytes);

  class Writer {
   public:
    Writer(Writer&&) noexcept = default;
    Writer& operator=(Writer&&) noexcept = default;
    ~Writer();  // an uncommitted writer removes its temp file
    void Write(std::string_view bytes);
    // Verifies, fsyncs and renames into place. Throws on a digest or size mismatch.
    Descriptor Commit(const std::string& media_type, const std::optional<Digest>& expected = std::nullopt,
                      std::optional<int64_t> expected_size = std::nullopt);
    int64_t size() const { return size_; }
    // For a writer whose bytes the caller hashes itself as it makes them (a layer tar and its
    // diff_id): no second hash here; Commit then needs `expected`, the caller's digest.
    void HashedByCaller() { hash_.reset(); }

   private:
    friend class ContentStore;
    Writer(const ContentStore* store, std::string tmp_path, UniqueFd fd);
    const ContentStore* store_;
    std::string tmp_path_;
    UniqueFd fd_;
    std::unique_ptr<Sha256> hash_;
    int64_t size_ = 0;
    bool committed_ = false;
  };

  Writer Ingest() const;

  // Every blob of the store (deferred ones too), and removing one (garbage collection; the caller makes sure nothing
  // uses it).
  std::vector<Digest> List() const;
  void Remove(const Digest& d) const;

  // Removes temp files of writers that died (a live writer holds a lock on its file).
  void ReapAbandoned() const;

  const std::string& layout_dir() const { return layout_dir_; }

 private:
  struct Recipe {
    std::vector<std::string> dirs;  // absolute, top first
    int64_t size = 0;
    std::optional<int64_t> source_date_epoch;
  };
  std::string FilePath(const Digest& d) const;
  bool Stored(const Digest& d) const;
  std::optional<Recipe> ReadRecipe(const Digest& d) const;
  void Make(const Digest& d, const Recipe& r) const;

  std::string layout_dir_;
  std::string tmp_dir_;
  std::string recipes_dir_, base_dir_;  // deferred layers (empty: off)
};

}  // namespace imgbuild::layers
