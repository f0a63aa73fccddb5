// Content digests (OCI "algorithm:hex"), computed with OpenSSL EVP. Strong type: a Digest is
// always a valid sha256 digest once constructed.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace imgbuild::layers {

class Digest {
 public:
  // Parses "sha256:<64 lowercase hex>". Throws std::invalid_argument.
  static Digest Parse(std::string_view text);
  static Digest OfBytes(std::string_view bytes);

  const std::string& str() const { return text_; }
  std::string_view hex() const { return std::string_view(text_).substr(7); }
  friend bool operator==(const Digest&, const Digest&) = default;
  friend auto operator<=>(const Digest&, const Digest&) = default;

 private:
  explicit Digest(std::string text) : text_(std::move(text)) {}
  std::string text_;
};

// The OCI chain ID of a layer stack: the first layer's diff_id, then
// sha256(parent chain ID + " " + diff_id) for each layer on top. `parent` is null for the first.
Digest ChainId(const Digest* parent, const Digest& diff_id);

// Incremental sha256.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::string_view bytes);
  Digest Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace imgbuild::layers
