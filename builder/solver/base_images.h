// The bases stages start from: images of the local store (each layer unpacked once into a
// snapshot named by its chain ID and shared by every build), named build contexts (a directory
// becomes one cached layer; oci-layout:// is loaded into the store, docker-image:// is an image
// name) and what their cache keys cover besides the base (platform, SOURCE_DATE_EPOCH).
#pragma once

#include <mutex>
#include <set>
#include <string>

#include "builder/solver/build_env.h"
#include "builder/solver/stage_state.h"
#include "builder/solver/step_cache.h"

namespace imgbuild::builder {

class BaseImages {
 public:
  BaseImages(BuildEnv& env, StepCache& cache) : env_(env), cache_(cache) {}

  // An image of the local store as the base of stage `s` (a missing one is a clear error naming
  // the Buildfile line, a pull failure, and a stage of a close name).
  StageImage FromStore(const std::string& ref, int s);
  // The named context `name` as the base of stage `s`.
  StageImage FromContext(const std::string& name, int s);
  // The store name of an image context (oci-layout:// loaded once; docker-image://REF is REF).
  std::string LoadContextImage(const std::string& name);
  // What every base key of stage `s` covers besides the base: the stage's platform (its FROM
  // --platform, else the build's), so a `FROM --platform=$BUILDPLATFORM` stage has the same keys
  // whatever platform the build targets.
  std::string PlatformText(int s) const;
  // The platform stage `s` is built for.
  layers::Platform StagePlatform(int s) const;

  // A named context that is a directory (not an OCI layout or an image reference).
  static bool IsDirContext(const std::string& spec) { return spec.find("://") == std::string::npos; }

 private:
  // Refuses a base whose config names another platform than stage `stage` is built for.
  void CheckPlatform(const std::string& ref, int stage, const layers::Platform& has) const;
  // The committed snapshot on `parent` a build of this store hashed the layer `blob` from, if it
  // is still there: an image built here is used as its steps left it, never unpacked again.
  std::optional<std::string> BuiltSnapshot(const layers::Digest& blob, const std::string& parent) const;
  static constexpr const char* kOciLayoutScheme = "oci-layout://";
  static constexpr const char* kImageScheme = "docker-image://";

  BuildEnv& env_;
  StepCache& cache_;
  std::mutex mu_;  // loaded_contexts_
  std::set<std::string> loaded_contexts_;
  std::mutex apply_mu_;  // unpacking base layers
};

}  // namespace imgbuild::builder
