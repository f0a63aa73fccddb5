// Cache keys: versioned and domain-separated. A key is the sha256 of a framed sequence of named
// fields, so two different field lists can never produce the same bytes ("ab"+"c" != "a"+"bc").
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "layers/digest.h"

namespace imgbuild::cache {

class CacheKey {
 public:
  explicit CacheKey(layers::Digest d) : digest_(std::move(d)) {}
  // "sha256:<64 hex>"; throws std::invalid_argument.
  static CacheKey Parse(std::string_view text) { return CacheKey(layers::Digest::Parse(text)); }
  const layers::Digest& digest() const { return digest_; }
  const std::string& str() const { return digest_.str(); }
  std::string_view hex() const { return digest_.hex(); }
  friend bool operator==(const CacheKey&, const CacheKey&) = default;
  friend auto operator<=>(const CacheKey&, const CacheKey&) = default;

 private:
  layers::Digest digest_;
};

class KeyBuilder {
 public:
  // `kind` separates domains: a RUN key can never equal a COPY key.
  explicit KeyBuilder(std::string_view kind);

  KeyBuilder& Field(std::string_view name, std::string_view value);
  KeyBuilder& Field(std::string_view name, const std::vector<std::string>& values);
  KeyBuilder& Parent(const CacheKey& parent) { return Field("parent", parent.digest().str()); }
  CacheKey Build();

 private:
  void Frame(std::string_view bytes);
  layers::Sha256 hash_;
};

}  // namespace imgbuild::cache
