// An active (writable) snapshot as a value: prepared on a parent, filled (mounted, or a layer
// applied), then committed under a name; removed, however the step ends, if it was not.
#pragma once

#include <string>
#include <vector>

#include "builder/snapshot/snapshotter.h"

namespace imgbuild::builder {

class ActiveSnapshot {
 public:
  // `stacked`: its change counts with the parent's (Snapshotter::PrepareStacked).
  ActiveSnapshot(Snapshotter& snaps, std::string key, const std::string& parent, bool stacked = false)
      : snaps_(snaps), key_(std::move(key)),
        mounts_(stacked ? snaps_.PrepareStacked(key_, parent) : snaps_.Prepare(key_, parent)) {}
  ~ActiveSnapshot() {
    if (committed_) return;
    try {
      if (snaps_.Exists(key_)) snaps_.Remove(key_);
    } catch (const std::exception&) {
      // a later build's reaper removes what is left
    }
  }
  ActiveSnapshot(const ActiveSnapshot&) = delete;
  ActiveSnapshot& operator=(const ActiveSnapshot&) = delete;

  const std::vector<Mount>& mounts() const { return mounts_; }
  // The directory of this snapshot's own files (overlay: its upper), while it is not mounted.
  std::string Dir() { return snaps_.Changes(key_); }
  void Apply(const std::string& layer_blob, const layers::Digest& diff_id) { snaps_.Apply(key_, layer_blob, diff_id); }
  // Commits as `name`; false (and the snapshot stays active, to be removed) when `name` exists.
  bool Commit(const std::string& name) {
    committed_ = snaps_.Commit(name, key_);
    return committed_;
  }

 private:
  Snapshotter& snaps_;
  std::string key_;
  std::vector<Mount> mounts_;
  bool committed_ = false;
};

}  // namespace imgbuild::builder
