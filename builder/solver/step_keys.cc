#include "builder/solver/step_keys.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "builder/ops/copy_op.h"
#include "builder/ops/metadata_op.h"
#include "builder/ops/run_op.h"
#include "cache/cache_key.h"
#include "cache/explain.h"
#include "frontend/mount_spec.h"
#include "layers/json_bytes.h"

namespace imgbuild::builder {
namespace {

}  // namespace

std::string KeyName(const std::string& kv) { return kv.substr(0, kv.find('=')); }
std::string KeyValue(const std::string& kv) {
  size_t eq = kv.find('=');
  return eq == std::string::npos ? "" : kv.substr(eq + 1);
}

// Every word kept byte for byte (a Buildfile word need not be UTF-8).
std::string KeyJson(const std::vector<std::string>& words) {
  nlohmann::json a = nlohmann::json::array();
  for (const std::string& w : words) a.push_back(layers::BytesToJsonString(w));
  return a.dump();
}

std::string FromKeyText(const StepKeyInputs& in, const std::string& from) {
  auto it = in.from_keys.find(from);
  return it == in.from_keys.end() ? from : it->second;
}

cache::CacheKey ScratchKey(const std::string& platform) {
  return cache::KeyBuilder("from-scratch").Field("platform", platform).Build();
}

cache::CacheKey ImageKey(const std::string& manifest_digest, const std::string& platform) {
  return cache::KeyBuilder("from-image").Field("manifest", manifest_digest).Field("platform", platform).Build();
}

cache::CacheKey DirectoryKey(const cache::InputDigest& content, const std::string& platform) {
  return cache::KeyBuilder("from-directory").Field("content", content.digest.str()).Field("platform", platform).Build();
}

StepKey MakeStepKey(const frontend::PlannedStep& step, const StepKeyInputs& in) {
  StepKey out;
  const std::string& k = step.keyword;  // the key's domain (and what records show), not a dispatch
  std::visit(
      [&](const auto& op) {
        using T = std::decay_t<decltype(op)>;
        if constexpr (std::is_same_v<T, frontend::MetadataStep>) {
          out.fields = MetadataKeyFields(step, op);
        } else if constexpr (std::is_same_v<T, frontend::WorkdirStep>) {
          out.fields = WorkdirKeyFields(step);
        } else if constexpr (std::is_same_v<T, frontend::CopyStep>) {
          CopyKeyFields(step, op, in, out);
        } else {
          out.fields = RunKeyFields(step, op, in);
        }
      },
      step.op);
  const KeyFields& f = out.fields;
  cache::KeyBuilder b(k);
  b.Field("parent", in.parent ? in.parent->str() : "");
  for (const auto& [name, value] : f) b.Field(name, value);
  out.key = b.Build();
  return out;
}

std::string ExplainMiss(const StepKey& now, const KeyFields& before_fields,
                        const std::vector<std::pair<std::string, std::string>>& before_files) {
  return cache::ExplainFields(now.fields, now.files, before_fields, before_files);
}

}  // namespace imgbuild::builder
