// What ops read besides their own stage: other roots (finished stages, images, named contexts),
// mounted for as long as the step keeps them, and the build context as RUN binds see it. The
// solver implements it (it knows which stages are done and how images become snapshots).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "frontend/dockerignore.h"

#include "builder/ops/layer_step.h"

namespace imgbuild::builder {

class Sources {
 public:
  // The views a step reads from (COPY --from, RUN --mount from=), mounted while it runs.
  struct Keep {
    std::vector<std::unique_ptr<SnapshotView>> views;
  };
  virtual ~Sources() = default;
  // The host directory holding the files `from` names for a step of `stage`.
  virtual std::string Root(const std::string& from, int stage, Keep& keep) = 0;
  // The build context without what .dockerignore excludes.
  virtual std::string FilteredContext() = 0;
  // The .dockerignore of the named directory context `name` (its own, at its top), or nullptr.
  virtual const frontend::IgnoreMatcher* ContextIgnore(const std::string& name) const = 0;
};

}  // namespace imgbuild::builder
