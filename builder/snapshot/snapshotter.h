// Snapshots with containerd's semantics. Prepare(key, parent) makes an active, writable snapshot
// on top of a committed parent (or of nothing); View(key, parent) a read-only one; Commit(name,
// key) turns an active snapshot into a committed one that others may use as parent; Remove(key)
// deletes one no other snapshot depends on. Mounts are described, not performed: the caller
// mounts them (MountGuard) where it needs the root filesystem.
//
// Two implementations pass one conformance suite: OverlaySnapshotter (overlayfs; a snapshot's
// change is its upper directory) and CopySnapshotter (the fallback where overlay cannot be
// mounted: each snapshot is a full copy, and its change is found by comparing it with its parent).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>
#include "layers/digest.h"
#include "layers/error.h"

namespace imgbuild::builder {

struct Mount {
  std::string type;    // "overlay" or "bind"
  std::string source;  // overlay: "overlay"; bind: the directory
  std::vector<std::string> options;  // "ro", "lowerdir=...", ...
};

class SnapshotError : public layers::Error {
 public:
  using layers::Error::Error;
};

class Snapshotter {
 public:
  virtual ~Snapshotter() = default;

  virtual std::vector<Mount> Prepare(const std::string& key, const std::string& parent) = 0;
  virtual std::vector<Mount> View(const std::string& key, const std::string& parent) = 0;
  // Returns false, leaving `key` active, when `name` exists already (another build committed the
  // same snapshot first): the caller commits under another name or removes it.
  virtual bool Commit(const std::string& name, const std::string& key) = 0;
  virtual void Remove(const std::string& key) = 0;
  virtual bool Exists(const std::string& key) const = 0;
  virtual std::string kind() const = 0;  // "overlay" or "copy"
  // Every snapshot with its parent ("" for none) and kind (active, view, committed).
  struct Info {
    std::string key, parent, kind;
    bool stacked = false;  // its change counts with its parent's (PrepareStacked)
  };
  virtual std::vector<Info> List() const = 0;
  virtual std::optional<Info> Stat(const std::string& key) const = 0;  // std::nullopt: no such snapshot
  // The snapshot whose Changes() is `dir` (overlay: its upper directory), if there is one; the
  // copy snapshotter's changes are made on demand, so never one of its snapshots.
  virtual std::optional<std::string> KeyOfChanges(const std::string& dir) const = 0;

  // Unpacks a layer into an active snapshot (which must not be mounted), checking its
  // uncompressed stream against `diff_id` (layers::HostileLayerError when it differs).
  virtual void Apply(const std::string& key, const std::string& layer_blob, const layers::Digest& diff_id) = 0;
  // The snapshot's change against its parent as a directory in overlay format (whiteouts are 0/0
  // character devices, opaque directories carry trusted.overlay.opaque=y). Valid until the
  // snapshot is removed; the snapshot must not be mounted.
  virtual std::string Changes(const std::string& key) = 0;

  // An active snapshot on `parent` whose change counts together with the parent's: a stacked
  // snapshot's layer is the change of both (and of the parent's stacked parents) against the
  // first parent that is not stacked (a COPY that starts from its previous result holds only
  // what changed). Overlay only: others throw SnapshotError.
  virtual std::vector<Mount> PrepareStacked(const std::string& key, const std::string& parent) {
    (void)parent;
    throw SnapshotError("snapshot " + key + ": this snapshotter cannot stack changes");
  }
  // The directories whose merged content (layers::WalkMerged) is the snapshot's layer, top
  // first: Changes(key), then those of the parents it is stacked on. Same validity.
  virtual std::vector<std::string> LayerDirs(const std::string& key) { return {Changes(key)}; }
};

// `dir` holds the snapshots (created if missing). Keys are directory names: [A-Za-z0-9._-]+.
std::unique_ptr<Snapshotter> NewOverlaySnapshotter(const std::string& dir);
std::unique_ptr<Snapshotter> NewCopySnapshotter(const std::string& dir);
// Overlay where this process can mount it (tried in the directory `scratch` gives, on the same
// filesystem, when this boot has not tried yet), else copy. IMGBUILD_SNAPSHOTTER=copy forces the
// copy-based one (in DIR-copy: the two never share snapshots).
std::unique_ptr<Snapshotter> NewSnapshotter(const std::string& dir, const std::function<std::string()>& scratch);

// Mounts `mounts` at `target` (an existing directory) until destroyed.
class MountGuard {
 public:
  MountGuard(const std::vector<Mount>& mounts, const std::string& target);
  ~MountGuard();
  MountGuard(const MountGuard&) = delete;
  MountGuard& operator=(const MountGuard&) = delete;
  const std::string& path() const { return target_; }

 private:
  std::string target_;
  bool mounted_ = false;
};

}  // namespace imgbuild::builder
