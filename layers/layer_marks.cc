#include "layers/layer_marks.h"

// The low-level SHA-256 calls (deprecated in OpenSSL 3, still there) are the only ones whose state
// is plain data: EVP's cannot be saved and restored.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace imgbuild::layers {
namespace {

constexpr int kVersion = 1;
constexpr size_t kMaxMarks = 1 << 20;

std::string Hex(const unsigned char* p, size_t n) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) {
    out += kHex[p[i] >> 4];
    out += kHex[p[i] & 15];
  }
  return out;
}

std::optional<std::string> Unhex(const std::string& text) {
  if (text.size() % 2) return std::nullopt;
  std::string out(text.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    int v = 0;
    for (int k = 0; k < 2; ++k) {
      char c = text[2 * i + k];
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (d < 0) return std::nullopt;
      v = v * 16 + d;
    }
    out[i] = static_cast<char>(v);
  }
  return out;
}

}  // namespace

struct MarkedSha256::Impl {
  SHA256_CTX ctx;
};

MarkedSha256::MarkedSha256() : impl_(std::make_unique<Impl>()) {
  if (SHA256_Init(&impl_->ctx) != 1) throw std::runtime_error("sha256: cannot initialise");
}

MarkedSha256::~MarkedSha256() = default;

void MarkedSha256::Update(std::string_view bytes) {
  if (SHA256_Update(&impl_->ctx, bytes.data(), bytes.size()) != 1) throw std::runtime_error("sha256: update failed");
  offset_ += static_cast<int64_t>(bytes.size());
}

Digest MarkedSha256::Finish() {
  unsigned char md[SHA256_DIGEST_LENGTH];
  if (SHA256_Final(md, &impl_->ctx) != 1) throw std::runtime_error("sha256: final failed");
  return Digest::Parse("sha256:" + Hex(md, sizeof md));
}

std::string MarkedSha256::State() const {
  return std::string(reinterpret_cast<const char*>(&impl_->ctx), sizeof(SHA256_CTX));
}

bool MarkedSha256::Restore(std::string_view state, int64_t offset) {
  if (state.size() != sizeof(SHA256_CTX) || offset < 0 || offset % 64 != 0) return false;
  SHA256_CTX ctx;
  std::memcpy(&ctx, state.data(), sizeof ctx);
  // Only a state saved between whole blocks: nothing buffered, the bit count matching the offset.
  const uint64_t bits = (static_cast<uint64_t>(ctx.Nh) << 32) | ctx.Nl;
  if (ctx.num != 0 || ctx.md_len != SHA256_DIGEST_LENGTH || bits != static_cast<uint64_t>(offset) * 8) return false;
  impl_->ctx = ctx;
  offset_ = offset;
  return true;
}

std::string LayerMarks::Serialize() const {
  nlohmann::json j;
  j["v"] = kVersion;
  j["source_date_epoch"] = source_date_epoch ? nlohmann::json(*source_date_epoch) : nlohmann::json(nullptr);
  nlohmann::json list = nlohmann::json::array();
  for (const LayerMark& m : marks) {
    list.push_back({{"entry", m.entry}, {"rel", m.rel}, {"offset", m.offset}, {"entries", m.entries},
                    {"state", Hex(reinterpret_cast<const unsigned char*>(m.state.data()), m.state.size())}});
  }
  j["marks"] = list;
  return j.dump();
}

std::optional<LayerMarks> LayerMarks::Parse(const std::string& text) {
  try {
    nlohmann::json j = nlohmann::json::parse(text);
    if (j.at("v").get<int>() != kVersion) return std::nullopt;
    LayerMarks out;
    if (!j.at("source_date_epoch").is_null()) out.source_date_epoch = j["source_date_epoch"].get<int64_t>();
    const nlohmann::json& list = j.at("marks");
    if (!list.is_array() || list.size() > kMaxMarks) return std::nullopt;
    for (const nlohmann::json& e : list) {
      LayerMark m;
      m.entry = e.at("entry").get<int64_t>();
      m.rel = e.at("rel").get<std::string>();
      m.offset = e.at("offset").get<int64_t>();
      m.entries = e.at("entries").get<int64_t>();
      std::optional<std::string> state = Unhex(e.at("state").get<std::string>());
      if (!state || m.entry <= 0 || m.offset < 0 || m.entries < 0) return std::nullopt;
      m.state = std::move(*state);
      out.marks.push_back(std::move(m));
    }
    return out;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace imgbuild::layers
