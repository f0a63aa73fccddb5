#include "layers/digest.h"

#include <openssl/evp.h>

namespace imgbuild::layers {

struct Sha256::Impl {
  EVP_MD_CTX* ctx = nullptr;
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  if (!impl_->ctx || EVP_DigestInit_ex(impl_->ctx, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("sha256: cannot initialise OpenSSL digest");
  }
}

Sha256::~Sha256() { EVP_MD_CTX_free(impl_->ctx); }

void Sha256::Update(std::string_view bytes) {
  if (EVP_DigestUpdate(impl_->ctx, bytes.data(), bytes.size()) != 1) {
    throw std::runtime_error("sha256: digest update failed");
  }
}

Digest Sha256::Finish() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(impl_->ctx, md, &len) != 1) throw std::runtime_error("sha256: digest final failed");
  static const char kHex[] = "0123456789abcdef";
  std::string text = "sha256:";
  for (unsigned i = 0; i < len; ++i) {
    text += kHex[md[i] >> 4];
    text += kHex[md[i] & 15];
  }
  return Digest::Parse(text);
}

Digest Digest::Parse(std::string_view text) {
  if (text.size() != 71 || text.substr(0, 7) != "sha256:") {
    throw std::invalid_argument("invalid digest \"" + std::string(text) + "\": expected sha256:<64 hex digits>");
  }
  for (char c : text.substr(7)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      throw std::invalid_argument("invalid digest \"" + std::string(text) + "\": not lowercase hex");
    }
  }
  return Digest(std::string(text));
}

Digest ChainId(const Digest* parent, const Digest& diff_id) {
  return parent ? Digest::OfBytes(parent->str() + " " + diff_id.str()) : diff_id;
}

Digest Digest::OfBytes(std::string_view bytes) {
  Sha256 h;
  h.Update(bytes);
  return h.Finish();
}

}  // namespace imgbuild::layers
