// Cache keys of build steps (../shared/DESIGN.md, "Cache keys"): the parent key, the
// instruction's canonical fields and the digests of its inputs, each field also kept in a
// readable form so that --explain-cache can say which one made a step miss. Secrets and
// cache-mount contents never enter a key; ARG values enter only where a step uses them (RUN sees
// every ARG in scope as environment, as in BuildKit).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cache/cache_key.h"
#include "cache/input_digest.h"
#include "frontend/plan.h"
#include "layers/image.h"

namespace imgbuild::builder {

using KeyFields = std::vector<std::pair<std::string, std::string>>;

struct StepKey {
  cache::CacheKey key{layers::Digest::OfBytes("")};
  KeyFields fields;
  std::vector<std::pair<std::string, std::string>> files;  // input files, for explanations
  std::string files_path;  // or where they are (cache::LoadInputFiles)
};

// What a step's key needs besides the plan: resolved inputs.
struct StepKeyInputs {
  std::optional<cache::CacheKey> parent;  // the previous step's key (or the stage base's)
  const layers::ImageConfig* config = nullptr;  // the stage's image before the step
  // The key or digest of each `from` the step reads (COPY --from, RUN --mount from=), by name.
  std::map<std::string, std::string> from_keys;
  std::optional<cache::InputDigest> copy_inputs;  // COPY/ADD sources from a directory
  // ADD's remote sources and what each resolved to (a content digest, a Git commit).
  std::vector<std::pair<std::string, std::string>> remote_inputs;
  std::map<size_t, cache::InputDigest> mount_inputs;  // RUN bind mounts of the build context, by index
  std::string network;  // RUN: the effective network mode
  std::string sandbox_options;  // RUN: the build's --add-host, --shm-size, --ulimit (RunSandboxOptions::KeyText)
};

// The key of `step`: its parent and the fields its op contributes (each op's KeyFields function,
// next to its Exec: builder/ops/).
StepKey MakeStepKey(const frontend::PlannedStep& step, const StepKeyInputs& in);

// For the ops' key fields: a word list as key material (every byte kept), NAME and VALUE of a
// NAME=VALUE word, and the key text of `from` (what StepKeyInputs::from_keys says of it).
std::string KeyJson(const std::vector<std::string>& words);
std::string KeyName(const std::string& kv);
std::string KeyValue(const std::string& kv);
std::string FromKeyText(const StepKeyInputs& in, const std::string& from);

// Keys of stage bases.
cache::CacheKey ScratchKey(const std::string& platform);
cache::CacheKey ImageKey(const std::string& manifest_digest, const std::string& platform);
cache::CacheKey DirectoryKey(const cache::InputDigest& content, const std::string& platform);

// Why `now` missed, against the nearest earlier record of the same step ("" when none is
// comparable): "env VERSION changed 1.2 -> 1.3", "content of src/main.c changed", ...
std::string ExplainMiss(const StepKey& now, const KeyFields& before_fields,
                        const std::vector<std::pair<std::string, std::string>>& before_files);

}  // namespace imgbuild::builder
