#include "cache/cache_key.h"

namespace imgbuild::cache {

namespace {
constexpr std::string_view kDomain = "imgbuild/cache/v1";
}

KeyBuilder::KeyBuilder(std::string_view kind) {
  Frame(kDomain);
  Frame(kind);
}

void KeyBuilder::Frame(std::string_view bytes) {
  // Length-prefixed, so field boundaries are part of what is hashed.
  std::string len = std::to_string(bytes.size()) + ":";
  hash_.Update(len);
  hash_.Update(bytes);
}

KeyBuilder& KeyBuilder::Field(std::string_view name, std::string_view value) {
  Frame(name);
  Frame(value);
  return *this;
}

KeyBuilder& KeyBuilder::Field(std::string_view name, const std::vector<std::string>& values) {
  Frame(name);
  Frame(std::to_string(values.size()));
  for (const std::string& v : values) Frame(v);
  return *this;
}

CacheKey KeyBuilder::Build() { return CacheKey(hash_.Finish()); }

}  // namespace imgbuild::cache
