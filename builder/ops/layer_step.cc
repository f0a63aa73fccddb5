#include "builder/ops/layer_step.h"

#include <filesystem>
#include <optional>

#include "builder/snapshot/active_snapshot.h"
#include "layers/background_sync.h"
#include "layers/layer_writer.h"

namespace imgbuild::builder {
namespace {

// A committed overlay snapshot's hash marks (layers/layer_marks.h) sit beside its upper
// directory and go with it. Only a hint: missing or unreadable, the next layer is hashed whole.
std::string MarksPath(BuildEnv& env, const std::string& key) {
  return std::filesystem::path(env.snaps->Changes(key)).parent_path().string() + "/layer-marks";
}

std::optional<layers::LayerMarks> ReadMarks(BuildEnv& env, const std::string& key) {
  try {
    return layers::LayerMarks::Parse(layers::ReadFile(MarksPath(env, key)));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

void WriteMarks(BuildEnv& env, const std::string& key, const layers::LayerMarks& marks) {
  try {
    layers::WriteFileAtomic(MarksPath(env, key), marks.Serialize(), 0600, /*durable=*/false);
  } catch (const std::exception&) {
    // a hint only
  }
}

// The layer of the committed `snapshot`. A cached step's overlay snapshot outlives the build,
// unchanged: its layer is only hashed here and written when something reads it (a deferred
// layer); anything else is written now. Files left for later (`fills`) get their bytes here,
// as they are hashed; a COPY's deferred layer (`fills` given) resumes from the hash marks of
// the result it is stacked on (`stack_on`) and leaves its own for the next one. The snapshot has
// no cache record yet: killed before this ends, it is never used, and prune removes it.
layers::LayerResult MakeLayer(BuildEnv& env, const std::string& snapshot, bool kept, const layers::LayerOptions& o,
                              layers::PendingFills* fills, const std::string& stack_on) {
  layers::ContentStore& store = env.store.store();
  std::vector<std::string> dirs = env.snaps->LayerDirs(snapshot);
  if (!kept || env.snaps->kind() != "overlay" || !store.deferring()) {
    if (fills) fills->FillRest(dirs.front());
    return layers::WriteLayer(dirs, o, store);
  }
  layers::HashMarks marks;
  std::optional<layers::LayerMarks> previous;
  if (fills && !stack_on.empty() && (previous = ReadMarks(env, stack_on))) marks.previous = &*previous;
  layers::LayerResult layer = layers::HashLayer(dirs, o, fills, fills ? &marks : nullptr);
  if (!marks.recorded.marks.empty()) WriteMarks(env, snapshot, marks.recorded);
  store.Defer(layer.blob, dirs, o.source_date_epoch);
  return layer;
}

}  // namespace

void LayerStep(BuildEnv& env, StageImage& img, const std::string& created_by, const Fill& fill, const Fill& prepare,
               const Fill& finish, const std::string& stack_on, layers::PendingFills* fills) {
  ActiveSnapshot active(*env.snaps, env.NewKey("active"), stack_on.empty() ? img.snapshot : stack_on, !stack_on.empty());
  const bool overlay = env.snaps->kind() == "overlay";
  if (prepare && overlay) prepare(active.Dir());
  {
    MountGuard m(active.mounts(), env.ws.NewDir("mnt-"));
    fill(m.path());
  }
  if (finish && overlay) finish(active.Dir());
  // The overlay was volatile: its upper is flushed here, while the layer is hashed, and is
  // durable before the step returns (and a cache record names it).
  std::optional<layers::BackgroundSync> durable;
  if (overlay) durable.emplace(active.Dir());
  std::string committed = img.commit_as.empty() ? env.NewKey("layer") : img.commit_as;
  if (!active.Commit(committed)) throw BuildError("snapshot " + committed + " exists already");
  if (img.commit_as.empty()) env.Own(committed);  // a cached step's snapshot outlives the build
  layers::LayerOptions o;
  o.source_date_epoch = env.req.source_date_epoch;
  layers::LayerResult layer =
      MakeLayer(env, committed, !img.commit_as.empty(), o, overlay ? fills : nullptr, stack_on);
  if (durable) durable->Wait();
  img.layers.push_back(layer.blob);
  img.config.diff_ids.push_back(layer.diff_id);
  img.snapshot = committed;
  img.History(env.created, created_by, false);
}

void LinkedLayerStep(BuildEnv& env, StageImage& img, const std::string& created_by, const Fill& fill) {
  StageImage alone;
  LayerStep(env, alone, created_by, fill);
  ActiveSnapshot active(*env.snaps, env.NewKey("active"), img.snapshot);
  std::string committed = img.commit_as.empty() ? env.NewKey("layer") : img.commit_as;
  active.Apply(env.store.store().BlobPath(alone.layers.back().digest), alone.config.diff_ids.back());
  if (!active.Commit(committed)) throw BuildError("snapshot " + committed + " exists already");
  if (img.commit_as.empty()) env.Own(committed);
  img.layers.push_back(alone.layers.back());
  img.config.diff_ids.push_back(alone.config.diff_ids.back());
  img.snapshot = committed;
  img.History(env.created, created_by, false);
}

SnapshotView::SnapshotView(BuildEnv& env, const std::string& parent) : snaps_(*env.snaps), key_(env.NewKey("view")) {
  std::vector<Mount> mounts = snaps_.View(key_, parent);
  try {
    guard_.emplace(mounts, env.ws.NewDir("mnt-"));
  } catch (...) {
    snaps_.Remove(key_);
    throw;
  }
}

SnapshotView::~SnapshotView() {
  guard_.reset();
  try {
    snaps_.Remove(key_);
  } catch (const std::exception&) {
  }
}

}  // namespace imgbuild::builder
