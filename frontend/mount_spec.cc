#include "frontend/mount_spec.h"
#include "frontend/words.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "frontend/detail/grammar.h"
#include "frontend/suggest.h"

namespace imgbuild::frontend {
namespace {

namespace pegtl = tao::pegtl;

template <typename Rule>
struct CsvAction : pegtl::nothing<Rule> {};
template <>
struct CsvAction<grammar::csv::quoted_field> {
  template <typename Input>
  static void apply(const Input& in, std::vector<std::string>& fields) {
    std::string_view s = in.string_view();
    std::string out;
    for (size_t i = 1; i + 1 < s.size(); ++i) {
      out += s[i];
      if (s[i] == '"') ++i;  // "" is one quote
    }
    fields.push_back(std::move(out));
  }
};
template <>
struct CsvAction<grammar::csv::plain_field> {
  template <typename Input>
  static void apply(const Input& in, std::vector<std::string>& fields) { fields.push_back(in.string()); }
};

std::vector<std::string> SplitCsv(std::string_view text) {
  std::vector<std::string> fields;
  pegtl::memory_input in(text.data(), text.size(), "mount");
  if (!pegtl::parse<grammar::csv::record, CsvAction>(in, fields)) {
    throw MountError("invalid --mount value \"" + std::string(text) +
                     "\": a quote may only enclose a whole field");
  }
  return fields;
}

std::optional<bool> ParseBool(std::string_view v) {
  std::string l = AsciiLower(v);
  if (l == "1" || l == "t" || l == "true") return true;
  if (l == "0" || l == "f" || l == "false") return false;
  return std::nullopt;
}

std::optional<uint32_t> ParseUint(std::string_view v, int base) {
  if (v.empty() || v.size() > 12) return std::nullopt;
  uint64_t n = 0;
  for (char c : v) {
    int d = c >= '0' && c <= '9' ? c - '0' : 99;
    if (d >= base) return std::nullopt;
    n = n * base + d;
  }
  if (n > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(n);
}

const std::vector<std::string> kMountTypes = {"bind", "cache", "tmpfs", "secret", "ssh"};
const std::vector<std::string> kMountKeys = {
    "type", "from", "source", "src", "target", "dst", "destination", "readonly", "ro", "readwrite",
    "rw", "id", "sharing", "required", "size", "mode", "uid", "gid", "env"};

}  // namespace

std::string_view MountTypeName(MountType t) {
  switch (t) {
    case MountType::kBind: return "bind";
    case MountType::kCache: return "cache";
    case MountType::kTmpfs: return "tmpfs";
    case MountType::kSecret: return "secret";
    case MountType::kSsh: return "ssh";
  }
  return "bind";
}

std::string_view CacheSharingName(CacheSharing s) {
  switch (s) {
    case CacheSharing::kShared: return "shared";
    case CacheSharing::kPrivate: return "private";
    case CacheSharing::kLocked: return "locked";
  }
  return "shared";
}

std::optional<int64_t> ParseByteSize(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
  if (i == 0) return std::nullopt;
  double n;
  try {
    n = std::stod(std::string(s.substr(0, i)));
  } catch (...) {
    return std::nullopt;
  }
  std::string unit = AsciiLower(s.substr(i));
  if (!unit.empty() && unit.back() == 'b') unit.pop_back();
  if (!unit.empty() && unit.back() == 'i') unit.pop_back();
  static const std::string kUnits = "kmgtp";
  double mult = 1;
  if (unit.size() == 1 && kUnits.find(unit[0]) != std::string::npos) {
    for (size_t k = 0; k <= kUnits.find(unit[0]); ++k) mult *= 1024;
  } else if (!unit.empty()) {
    return std::nullopt;
  }
  return static_cast<int64_t>(n * mult);
}

MountSpec ParseMount(std::string_view text, const ValueExpander& expand) {
  MountSpec m;
  bool read_only_auto = true;
  bool sharing_set = false;
  std::vector<std::string> fields = SplitCsv(text);
  // The type decides which keys are allowed, wherever it stands.
  for (const std::string& f : fields) {
    size_t eq = f.find('=');
    if (eq != std::string::npos && AsciiLower(f.substr(0, eq)) == "type") {
      // `type=$VAR` is known only when the step is planned (BuildKit expands it): the check
      // without an expander stops here, the planned one sees the value.
      if (!expand && f.find('$', eq) != std::string::npos) return m;
      std::string v = expand ? expand(f.substr(eq + 1)) : f.substr(eq + 1);
      std::string t = AsciiLower(v);
      auto it = std::find(kMountTypes.begin(), kMountTypes.end(), t);
      if (it == kMountTypes.end()) {
        throw MountError("unsupported mount type \"" + v + "\"" + DidYouMean(t, kMountTypes) +
                         "; use bind, cache, tmpfs, secret or ssh");
      }
      m.type = static_cast<MountType>(it - kMountTypes.begin());
    }
  }
  const std::string type_name(MountTypeName(m.type));
  auto not_for_type = [&](const std::string& key) {
    return MountError("mount option '" + key + "' is not allowed for type=" + type_name);
  };
  for (const std::string& field : fields) {
    if (field.empty()) continue;
    size_t eq = field.find('=');
    std::string key = AsciiLower(field.substr(0, eq));
    if (eq == std::string::npos) {
      if (key == "readonly" || key == "ro") {
        read_only_auto = false;
        m.read_only = true;
      } else if (key == "readwrite" || key == "rw") {
        read_only_auto = false;
        m.read_only = false;
      } else if (key == "required") {
        if (m.type != MountType::kSecret && m.type != MountType::kSsh) throw not_for_type(key);
        m.required = true;
      } else {
        throw MountError("mount option '" + field + "' needs a value (key=value)" +
                         DidYouMean(key, kMountKeys));
      }
      continue;
    }
    std::string value = field.substr(eq + 1);
    if (key == "from" && value.find('$') != std::string::npos) {
      throw MountError("'from' doesn't support variable expansion, define alias stage instead");
    }
    if (expand) value = expand(value);
    const bool deferred = !expand && value.find('$') != std::string::npos;
    auto bad_value = [&]() {
      return MountError("invalid value \"" + value + "\" for mount option '" + key + "'");
    };
    if (key == "type") {
      continue;
    } else if (key == "from") {
      m.from = value;
    } else if (key == "source" || key == "src") {
      m.source = value;
    } else if (key == "target" || key == "dst" || key == "destination") {
      m.target = value;
    } else if (key == "readonly" || key == "ro" || key == "readwrite" || key == "rw") {
      read_only_auto = false;
      if (deferred) continue;
      std::optional<bool> b = ParseBool(value);
      if (!b) throw bad_value();
      m.read_only = (key == "readonly" || key == "ro") ? *b : !*b;
    } else if (key == "required") {
      if (m.type != MountType::kSecret && m.type != MountType::kSsh) throw not_for_type(key);
      if (deferred) continue;
      std::optional<bool> b = ParseBool(value);
      if (!b) throw bad_value();
      m.required = *b;
    } else if (key == "size") {
      if (m.type != MountType::kTmpfs) throw not_for_type(key);
      if (deferred) continue;
      m.size = ParseByteSize(value);
      if (!m.size) throw bad_value();
    } else if (key == "id") {
      m.id = value;
    } else if (key == "sharing") {
      if (m.type != MountType::kCache) throw not_for_type(key);
      sharing_set = true;
      if (deferred) continue;
      std::string s = AsciiLower(value);
      if (s == "shared") {
        m.sharing = CacheSharing::kShared;
      } else if (s == "private") {
        m.sharing = CacheSharing::kPrivate;
      } else if (s == "locked") {
        m.sharing = CacheSharing::kLocked;
      } else {
        throw MountError("invalid value \"" + value + "\" for sharing; use shared, private or locked");
      }
    } else if (key == "mode" || key == "uid" || key == "gid") {
      if (m.type != MountType::kSecret && m.type != MountType::kSsh && m.type != MountType::kCache) {
        throw not_for_type(key);
      }
      if (deferred) continue;
      std::optional<uint32_t> n = ParseUint(value, key == "mode" ? 8 : 10);
      if (!n) throw bad_value();
      (key == "mode" ? m.mode : key == "uid" ? m.uid : m.gid) = n;
    } else if (key == "env") {
      if (m.type != MountType::kSecret) throw not_for_type(key);
      m.env = value;
    } else {
      throw MountError("unexpected key '" + key + "' in '" + field + "'" + DidYouMean(key, kMountKeys));
    }
  }
  (void)sharing_set;
  if (read_only_auto) m.read_only = m.type == MountType::kBind || m.type == MountType::kSecret ||
                                    m.type == MountType::kSsh;
  switch (m.type) {
    case MountType::kSecret:
      if (!m.from.empty()) throw not_for_type("from");
      if (m.id.empty() && m.source.empty() && m.target.empty() && !m.env) {
        throw MountError("secret mount needs an id (id=NAME), a target or an env");
      }
      if (m.id.empty()) {
        std::string base = !m.source.empty() ? m.source : !m.target.empty() ? m.target : *m.env;
        size_t slash = base.find_last_of('/');
        m.id = slash == std::string::npos ? base : base.substr(slash + 1);
      }
      if (m.target.empty() && !m.env) m.target = "/run/secrets/" + m.id;
      break;
    case MountType::kSsh:
      if (!m.from.empty()) throw not_for_type("from");
      if (m.id.empty()) m.id = "default";
      break;
    case MountType::kBind:
    case MountType::kTmpfs:
      // No target: the working directory (BuildKit joins the empty target with it; moby's,
      // docker/cli's and buildx's own Dockerfiles rely on it).
      if (m.type == MountType::kTmpfs && !m.from.empty()) throw not_for_type("from");
      break;
    case MountType::kCache:
      if (m.target.empty()) {
        throw MountError("mount type=" + type_name + " needs a target (target=PATH)");
      }
      if (m.type == MountType::kTmpfs && !m.from.empty()) throw not_for_type("from");
      if (m.type == MountType::kCache && m.id.empty()) m.id = m.target;
      break;
  }
  return m;
}

}  // namespace imgbuild::frontend
