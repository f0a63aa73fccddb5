// Incremental COPY: when a COPY from the build context misses only because some of its files
// changed, its new snapshot starts from the previous result of the same step (same parent
// snapshot, same instruction), and the copy leaves in place the files whose source is unchanged
// (the stat data the file-digest memo trusts), copying only the rest. Two ways:
// - stacked (the usual one): the new snapshot is stacked on the previous one (Snapshotter::
//   PrepareStacked), so the copy sees the previous result through the overlay and writes only
//   what changed; if it did not reach every entry of the previous result (a source was deleted
//   or newly ignored), it is made again the other way. At most a few changes are stacked.
// - linked: the previous files are hardlinked into the new snapshot's own directory before the
//   copy, and those it did not reach are removed after it: a flat snapshot again.
// Committed snapshots never change, and the copier replaces a file only by unlinking it first,
// so the snapshots never see each other's changes. Either way the layer is the same tar a copy
// from scratch gives (a stacked snapshot's layer is the merged change of its stack).
//
// Each such step's result is remembered by lineage (a digest of the parent snapshot and the
// instruction) in a manifest: the snapshot and, per regular file, source, destination and stamp.
// Manifests are only a speed-up: one that is missing, torn or names a removed snapshot means a
// full copy.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "builder/rootfs/copied_file.h"
#include "builder/snapshot/snapshotter.h"
#include "frontend/plan.h"

namespace imgbuild::builder {

// The lineage of a COPY from the build context on `parent_snapshot`; std::nullopt for steps that
// are not reused this way (--from, --link, ADD).
std::optional<std::string> CopyLineage(const std::string& parent_snapshot, const frontend::PlannedStep& step,
                                       const frontend::CopyStep& c);

struct CopyManifest {
  std::string snapshot;
  std::vector<CopiedFile> files;
};

// Manifests under `dir` (the cache index's copies/), by lineage.
class CopyManifests {
 public:
  explicit CopyManifests(std::string dir) : dir_(std::move(dir)) {}
  std::optional<CopyManifest> Load(const std::string& lineage) const;
  // Records `files` as what `snapshot` holds. Files changed too recently for their stamp to show
  // the next change (cache::SettleNs) are left out: they are copied again next time.
  void Save(const std::string& lineage, const std::string& snapshot, const std::vector<CopiedFile>& files) const;

 private:
  std::string dir_;
};

struct LinkedPrevious {
  std::map<std::string, InPlaceFile> files;  // by destination, for CopyRequest::in_place
  std::vector<std::string> made_dirs;        // the directories made for them
};

// Links into `upper` (a new, unmounted snapshot directory) every file of `previous` (whose
// layer directories are `previous_dirs`: Snapshotter::LayerDirs, top first), on every core;
// directories on the way are made with the previous ones' owner, mode and extended attributes.
// The copy then keeps each file whose source still has the recorded stamp and replaces the
// others (unlinking the link first, so the previous snapshot is never written).
LinkedPrevious LinkPrevious(const CopyManifest& previous, const std::vector<std::string>& previous_dirs,
                            const std::string& upper);

// The files of `previous` as the copy's in-place map (CopyRequest::in_place), for a copy onto a
// snapshot stacked on the previous one, where they are all in place already.
std::map<std::string, InPlaceFile> InPlace(const CopyManifest& previous);

// Whether a copy onto a snapshot stacked on the previous result reached (wrote or kept) every
// entry of that result (`previous_dirs`: its layer directories, top first). Anything it did not
// reach (a deleted or newly ignored source) would stay visible through the stack: such a copy
// is made again by linking (LinkPrevious), where unreached files are removed.
bool ReachedAll(const std::vector<std::string>& previous_dirs, const std::vector<CopiedFile>& copied);

// After the copy, with `upper` unmounted: removes the linked files and the directories made for
// them that the copy did not reach (their sources were deleted or newly ignored), which a copy
// from scratch would not have made. A directory that still holds something stays (it is a
// parent of what the copy wrote). Throws layers::SysError.
void RemoveUnreached(const LinkedPrevious& linked, const std::vector<CopiedFile>& copied, const std::string& upper);

}  // namespace imgbuild::builder
