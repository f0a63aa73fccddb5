// How a step makes a layer, and how it reads a committed snapshot:
// - LayerStep: an active snapshot on the stage's, mounted for `fill` to write into, committed
//   (under the stage's `commit_as` name, or a scratch name the build owns); its change becomes
//   the layer and a history entry. Removed if anything fails. The layer of a snapshot that
//   outlives the build (a cached step's) is deferred: hashed now, its blob written on first read.
// - LinkedLayerStep (COPY --link): the layer is made on an empty root, then applied on top of the
//   stage (BuildKit's rebasing), so directories it creates are fresh whatever the base holds.
// - SnapshotView: a read-only mount of a committed snapshot for as long as it lives.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "builder/snapshot/snapshotter.h"
#include "builder/solver/build_env.h"
#include "builder/solver/stage_state.h"
#include "layers/pending_fills.h"

namespace imgbuild::builder {

using Fill = std::function<void(const std::string& root)>;

// `prepare` and `finish`, when given, are called with the active snapshot's own directory before
// it is mounted and after it is unmounted, before the commit (overlay snapshotter only: its upper
// directory). `stack_on`, when given, is a committed snapshot of the same step on the stage's
// snapshot (its previous result): the step's snapshot is stacked on it (Snapshotter::
// PrepareStacked), `fill` sees that result and writes only what differs, and the layer is still
// the whole change against the stage's snapshot. `fills`, when given, holds the files `fill`
// left for later (layers/pending_fills.h; overlay snapshotter only): they are written while the
// layer is hashed, after the commit and before the step returns (no cache record names the
// snapshot until then); it also marks the step as a COPY whose layer leaves hash marks and
// resumes from those of `stack_on` (layers/layer_marks.h).
void LayerStep(BuildEnv& env, StageImage& img, const std::string& created_by, const Fill& fill,
               const Fill& prepare = {}, const Fill& finish = {}, const std::string& stack_on = "",
               layers::PendingFills* fills = nullptr);
void LinkedLayerStep(BuildEnv& env, StageImage& img, const std::string& created_by, const Fill& fill);

class SnapshotView {
 public:
  SnapshotView(BuildEnv& env, const std::string& parent);
  ~SnapshotView();
  SnapshotView(const SnapshotView&) = delete;
  SnapshotView& operator=(const SnapshotView&) = delete;
  const std::string& path() const { return guard_->path(); }

 private:
  Snapshotter& snaps_;
  std::string key_;
  std::optional<MountGuard> guard_;
};

}  // namespace imgbuild::builder
