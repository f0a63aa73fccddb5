// The instructions that only change the image config (ENV, LABEL, ARG, USER, CMD, ENTRYPOINT,
// SHELL, EXPOSE, VOLUME, STOPSIGNAL, MAINTAINER, ONBUILD, HEALTHCHECK): their semantics as
// BuildKit applies them, and the history entry each adds. Pure: no files, no snapshots, so the
// solver re-applies them on a cache hit and unit tests need nothing but a config.
#pragma once

#include <string>
#include <vector>

#include "frontend/plan.h"
#include "builder/solver/step_keys.h"
#include "layers/image.h"

namespace imgbuild::builder {

// Applies the config-only `step` (its `meta` op) to `image`, with a history entry made at
// `created`.
void ApplyMetadata(const frontend::PlannedStep& step, const frontend::MetadataStep& meta, layers::ImageConfig& image,
                   const std::string& created);

// The fields of its cache key (ARG by name only: a value counts where a step uses it).
KeyFields MetadataKeyFields(const frontend::PlannedStep& step, const frontend::MetadataStep& meta);

// ENV semantics: KEY=VALUE replaces the variable of that name or adds it at the end.
void SetEnv(std::vector<std::string>& env, const std::string& kv);

// As Go's encoding/json writes a string array (and so BuildKit's history): invalid UTF-8 becomes
// U+FFFD.
std::string JsonArray(const std::vector<std::string>& words);

// Words joined by `sep`.
std::string Join(const std::vector<std::string>& words, const char* sep = " ");

}  // namespace imgbuild::builder
