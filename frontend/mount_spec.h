// RUN --mount=type=bind|cache|tmpfs|secret|ssh,... parsed and validated with BuildKit's rules.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include "frontend/error.h"

namespace imgbuild::frontend {

enum class MountType { kBind, kCache, kTmpfs, kSecret, kSsh };
enum class CacheSharing { kShared, kPrivate, kLocked };

struct MountSpec {
  MountType type = MountType::kBind;
  std::string from;    // stage, image or named context (bind, cache)
  std::string source;  // path in `from` (bind, cache) or secret source
  std::string target;  // mount point; defaulted for secret and ssh
  std::string id;      // cache id, secret id, ssh id
  std::optional<std::string> env;  // secret exposed as this environment variable
  bool read_only = true;
  CacheSharing sharing = CacheSharing::kShared;
  bool required = false;
  std::optional<uint32_t> mode, uid, gid;
  std::optional<int64_t> size;  // tmpfs size limit in bytes
};

class MountError : public Error {
 public:
  using Error::Error;
};

// Expands one option value (for $ARG in mount options); identity when null.
using ValueExpander = std::function<std::string(const std::string&)>;

// Parses one --mount value. With no expander, values that still hold a `$` are not checked for
// form (they are checked again once the plan expands them). Throws MountError.
MountSpec ParseMount(std::string_view text, const ValueExpander& expand = nullptr);

std::string_view MountTypeName(MountType t);
std::string_view CacheSharingName(CacheSharing s);

// "512m", "1g", "1024" -> bytes (docker/go-units RAMInBytes).
std::optional<int64_t> ParseByteSize(std::string_view s);

}  // namespace imgbuild::frontend
