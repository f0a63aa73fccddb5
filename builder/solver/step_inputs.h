// What a step reads besides its own stage, for its cache key and its execution: the content of
// the build-context files a COPY/ADD selects (hashed on every core when the stage starts) and of
// the context a RUN bind-mounts, the key of each `from` (a stage's key, an image's manifest
// digest, a named directory's content), and the roots themselves (the Sources ops mount).
#pragma once

#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "builder/ops/op.h"
#include "builder/solver/base_images.h"
#include "builder/solver/build_env.h"
#include "builder/solver/stage_results.h"
#include "builder/solver/step_cache.h"
#include "builder/solver/step_keys.h"
#include "frontend/dockerignore.h"

namespace imgbuild::builder {

class StepInputs : public Sources {
 public:
  StepInputs(BuildEnv& env, StepCache& cache, BaseImages& bases, const StageResults& stages,
             const frontend::IgnoreMatcher& ignore)
      : env_(env), cache_(cache), bases_(bases), stages_(stages), ignore_(ignore) {
    LoadContextIgnores();
  }

  using Prefetched = std::map<frontend::StepId, std::future<std::optional<cache::InputDigest>>>;
  // The inputs of the stage's COPY/ADD steps, hashed at once while the stage starts.
  Prefetched Prefetch(int stage);
  // The key of `step` after `img`; `copy_inputs` as prefetched (if it was), `remote_inputs` as
  // ADD's remote sources resolved.
  StepKey Key(const frontend::PlannedStep& step, const StageImage& img,
              const std::optional<std::optional<cache::InputDigest>>& copy_inputs,
              std::vector<std::pair<std::string, std::string>> remote_inputs);

  std::string Root(const std::string& from, int stage, Keep& keep) override;
  std::string FilteredContext() override;
  const frontend::IgnoreMatcher* ContextIgnore(const std::string& name) const override;

 private:
  void LoadContextIgnores();
  std::optional<int> StageNamed(const std::string& from) const;
  std::string FromKey(const std::string& from);
  std::optional<cache::InputDigest> CopyInputs(const frontend::PlannedStep& step, const frontend::CopyStep& c);

  BuildEnv& env_;
  StepCache& cache_;
  BaseImages& bases_;
  const StageResults& stages_;
  const frontend::IgnoreMatcher& ignore_;
  std::map<std::string, frontend::IgnoreMatcher> context_ignores_;  // read-only once built
  std::mutex context_mu_;  // filtered_context_
  std::string filtered_context_;
};

}  // namespace imgbuild::builder
