#include "builder/solver/base_images.h"

#include "layers/image_index.h"

#include "layers/applier.h"

#include <nlohmann/json.hpp>

#include "builder/ops/layer_step.h"
#include "builder/rootfs/copier.h"
#include "builder/snapshot/active_snapshot.h"
#include "frontend/suggest.h"
#include "layers/image_export.h"
#include "layers/image_import.h"

namespace imgbuild::builder {

using layers::Descriptor;
using layers::Digest;
using layers::ImageConfig;


// A named build context as a base: a directory becomes one layer; an OCI layout is loaded
// into the local store and used as an image.
StageImage BaseImages::FromContext(const std::string& name, int s) {
  const std::string& spec = env_.req.named_contexts.at(name);
  if (!IsDirContext(spec)) return FromStore(LoadContextImage(name), s);
  StageImage img;
  img.config.platform = StagePlatform(s);
  CopyRequest r;
  r.src_root = spec;
  r.sources = {"."};
  r.dest = "/";
  StepKey key;
  key.key = DirectoryKey(cache_.Digest(SelectCopyInputs(r), BuildEnv::Threads()), PlatformText(s));
  cache_.Used(s, key.key);
  if (std::optional<cache::CacheRecord> hit = cache_.Lookup(key.key, img); hit && hit->layer) {
    img.layers.push_back(*hit->layer);
    img.config.diff_ids.push_back(*hit->diff_id);
    img.snapshot = hit->snapshot;
    img.config.history.push_back({hit->created, hit->created_by, "", false});
  } else {
    StageMark before = StageMark::Of(img);
    img.commit_as = CachedSnapshotName(key.key, env_.ws.name(), env_.ws.Next());
    LayerStep(env_, img, "build context " + name, [&](const std::string& root) {
      r.lower_root = root;
      r.upper = root;
      Copy(r);
    });
    img.commit_as.clear();
    frontend::PlannedStep base;
    base.keyword = "FROM";
    cache_.Record(base, key, before, img);
  }
  img.key = key.key;
  return img;
}

// Loads oci-layout://PATH[:TAG] into the store once; returns the name it has there. A
// docker-image://REF context is REF itself (pulled before the build, as FROM images are).
std::string BaseImages::LoadContextImage(const std::string& name) {
  const std::string& full = env_.req.named_contexts.at(name);
  if (full.rfind(kImageScheme, 0) == 0) return full.substr(std::string(kImageScheme).size());
  std::string store_name = "imgbuild-context/" + name + ":latest";
  std::lock_guard<std::mutex> lock(mu_);
  if (loaded_contexts_.insert(name).second) {
    std::string spec = env_.req.named_contexts.at(name).substr(std::string(kOciLayoutScheme).size());
    std::string path = spec, tag;
    size_t colon = spec.find_last_of(':');
    if (colon != std::string::npos && spec.find('/', colon) == std::string::npos) {
      path = spec.substr(0, colon);
      tag = spec.substr(colon + 1);
    }
    layers::OciLayout source(path, env_.ws.NewDir("context-"));
    std::optional<Descriptor> m = tag.empty() ? std::optional<Descriptor>() : source.Find(tag);
    if (!m && tag.empty() && !source.Manifests().empty()) m = source.Manifests().front();
    if (!m) throw BuildError("build context " + name + ": no image " + (tag.empty() ? "" : "tagged " + tag + " ") + "in " + path);
    // Import through a one-image copy of the layout so every layer is checked like `load`.
    std::string copy = env_.ws.NewDir("context-layout-") + "/layout";
    layers::ExportOptions eo;
    eo.compression = layers::Compression::kUncompressed;
    layers::ExportImage(source, *m, {"latest"}, layers::ExportFormat::kOciDir, copy, eo);
    layers::ImportImages(env_.store, copy, store_name, env_.state.tmp());
  }
  return store_name;
}

StageImage BaseImages::FromStore(const std::string& ref, int s) {
  std::optional<Descriptor> m = env_.store.Find(ref);
  if (!m) {
    std::vector<std::string> stage_names;
    for (const auto& st : env_.plan.program.stages) {
      if (!st.name.empty()) stage_names.push_back(st.name);
    }
    std::string stage_hint;
    if (auto near = frontend::Suggest(ref, stage_names)) stage_hint = " (did you mean the stage " + *near + "?)";
    throw BuildError(env_.plan.program.file + ":" + std::to_string(env_.plan.program.stages[s].location.line) +
                     ": FROM " + ref + ": no such image in the local store (" + env_.state.oci() + ")" + stage_hint +
                     (env_.req.pull_errors.count(ref) ? ", and pulling it failed: " + env_.req.pull_errors.at(ref)
                                                  : "; pull it (--pull=missing), load it with `imgbuild load` or build it first"));
  }
  if (layers::IsIndex(m->media_type)) {
    // A multi-platform image: the stage's platform's manifest.
    const layers::Platform want = StagePlatform(s);
    std::optional<Descriptor> pick = layers::SelectPlatform(env_.store.store(), *m, want);
    if (!pick) {
      throw BuildError(env_.plan.program.file + ":" + std::to_string(env_.plan.program.stages[s].location.line) + ": FROM " +
                       ref + ": the image has no manifest for " + layers::PlatformText(want) + " (it has " +
                       layers::PlatformsText(layers::IndexManifests(env_.store.store(), *m)) + ")");
    }
    m = pick;
  }
  StageImage img;
  img.base_manifest = *m;
  img.base_name = layers::NormalizeTag(ref);
  img.key = ImageKey(m->digest.str(), PlatformText(s));
  layers::Manifest manifest = layers::Manifest::Parse(env_.store.store().ReadBlob(m->digest));
  img.config = ImageConfig::FromJson(nlohmann::json::parse(env_.store.store().ReadBlob(manifest.config.digest)));
  CheckPlatform(ref, s, img.config.platform);
  const std::vector<Descriptor>& layer_list = manifest.layers;
  if (layer_list.size() != img.config.diff_ids.size()) {
    throw BuildError("image " + ref + " is inconsistent: " + std::to_string(layer_list.size()) + " layers, " +
                     std::to_string(img.config.diff_ids.size()) + " diff_ids");
  }
  // Each layer becomes a committed snapshot named by its chain ID, shared by every build.
  std::optional<Digest> chain;
  std::string parent;
  for (size_t i = 0; i < layer_list.size(); ++i) {
    const Descriptor& d = layer_list[i];
    const Digest& diff_id = img.config.diff_ids[i];
    chain = layers::ChainId(chain ? &*chain : nullptr, diff_id);
    std::string key = ChainSnapshotName(std::string(chain->hex()));
    std::lock_guard<std::mutex> lock(apply_mu_);
    if (!env_.snaps->Exists(key)) {
      if (std::optional<std::string> built = BuiltSnapshot(d.digest, parent)) {
        img.layers.push_back(d);
        parent = *built;
        continue;
      }
      env_.Report([&](Status& st) { st.Info("unpacking layer " + d.digest.str() + " of " + ref); });
      ActiveSnapshot active(*env_.snaps, env_.NewKey("extract"), parent);
      // Checked against the config's diff_id before it gets the chain ID's name: a layer that
      // lies about what it is can never stand in for another image's layer.
      try {
        active.Apply(env_.store.store().BlobPath(d.digest), diff_id);
      } catch (const layers::HostileLayerError& e) {
        throw BuildError("image " + ref + ": " + e.what());
      }
      active.Commit(key);  // false: another build unpacked it meanwhile, and this copy goes
    }
    img.layers.push_back(d);
    parent = key;
  }
  img.snapshot = parent;
  return img;
}

std::optional<std::string> BaseImages::BuiltSnapshot(const layers::Digest& blob, const std::string& parent) const {
  std::optional<std::string> dir = env_.store.store().SourceDir(blob);
  std::optional<std::string> key = dir ? env_.snaps->KeyOfChanges(*dir) : std::nullopt;
  std::optional<Snapshotter::Info> info = key ? env_.snaps->Stat(*key) : std::nullopt;
  // A stacked snapshot's layer is its change with its parents' down to the first not stacked.
  while (info && info->stacked) info = env_.snaps->Stat(info->parent);
  if (!info || info->kind != "committed" || info->parent != parent) return std::nullopt;
  return key;
}

// A base made for another platform would run its binaries under the wrong label: refused, as
// BuildKit refuses a base that has no manifest for the platform. An image that names no
// architecture is taken as it is.
layers::Platform BaseImages::StagePlatform(int s) const {
  if (s < 0 || env_.plan.stages[s].platform.empty()) return env_.req.platform;
  frontend::PlatformSpec p = frontend::PlatformSpec::Parse(env_.plan.stages[s].platform);
  return {p.os, p.arch, p.variant};
}

void BaseImages::CheckPlatform(const std::string& ref, int s, const layers::Platform& has) const {
  layers::Platform want = StagePlatform(s);
  if (has.architecture.empty()) return;
  auto text = [](const layers::Platform& p) {
    return p.os + "/" + p.architecture + (p.variant.empty() ? "" : "/" + p.variant);
  };
  bool same = has.os == want.os && has.architecture == want.architecture &&
              (has.variant.empty() || want.variant.empty() || has.variant == want.variant);
  if (!same) {
    throw BuildError(env_.plan.program.file + ":" + std::to_string(env_.plan.program.stages[s].location.line) + ": FROM " +
                     ref + ": the image is for " + text(has) + ", not " + text(want) +
                     " (it has no manifest for " + text(want) + "; build for " + text(has) +
                     " with --platform, or use a base that has " + text(want) + ")");
  }
}

// What every base key covers besides the base: the platform, and SOURCE_DATE_EPOCH (it changes
// layer bytes and history times, so results made with another value never match).
std::string BaseImages::PlatformText(int s) const {
  std::string text = layers::PlatformText(StagePlatform(s));
  if (env_.req.source_date_epoch) text += " epoch " + std::to_string(*env_.req.source_date_epoch);
  return text;
}

}  // namespace imgbuild::builder
