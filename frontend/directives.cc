#include "frontend/directives.h"
#include "frontend/words.h"

#include <algorithm>
#include <cctype>

#include "frontend/detail/grammar.h"

namespace imgbuild::frontend {
namespace {

namespace pegtl = tao::pegtl;

struct Parts {
  std::string key, value;
};

template <typename Rule>
struct Action : pegtl::nothing<Rule> {};
template <>
struct Action<grammar::directive_key> {
  template <typename Input>
  static void apply(const Input& in, Parts& p) { p.key = in.string(); }
};
template <>
struct Action<grammar::directive_value> {
  template <typename Input>
  static void apply(const Input& in, Parts& p) {
    p.value = in.string();
    while (!p.value.empty() && (p.value.back() == ' ' || p.value.back() == '\t')) p.value.pop_back();
  }
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

bool DirectiveScanner::Feed(std::string_view line, Directives& d) {
  if (done_) return false;
  Parts parts;
  pegtl::memory_input in(line.data(), line.size(), "directive");
  if (!pegtl::parse<grammar::directive, Action>(in, parts)) {
    done_ = true;
    return false;
  }
  std::string key = AsciiLower(parts.key);
  if (key != "syntax" && key != "escape" && key != "check") {
    done_ = true;  // unknown directives are comments, and end the directive block
    return false;
  }
  if (!seen_.insert(key).second) {
    throw DirectiveError("only one " + key + " parser directive can be used");
  }
  if (key == "syntax") {
    d.syntax = parts.value;
  } else if (key == "escape") {
    if (parts.value != "\\" && parts.value != "`") {
      throw DirectiveError("invalid escape token '" + parts.value + "' does not match ` or \\");
    }
    d.escape = parts.value[0];
    d.escape_value = parts.value;
  } else {
    d.check = parts.value;
    d.check_config = ParseCheckConfig(parts.value);
  }
  return true;
}

CheckConfig ParseCheckConfig(std::string_view value) {
  CheckConfig config;
  while (!value.empty()) {
    size_t semi = value.find(';');
    std::string_view part = Trim(value.substr(0, semi));
    value = semi == std::string_view::npos ? std::string_view() : value.substr(semi + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      throw DirectiveError("invalid check option \"" + std::string(part) +
                           "\": expected key=value (skip=RULE,... or error=true|false)");
    }
    std::string key = AsciiLower(std::string(Trim(part.substr(0, eq))));
    std::string_view v = Trim(part.substr(eq + 1));
    if (key == "skip") {
      while (!v.empty()) {
        size_t comma = v.find(',');
        std::string_view rule = Trim(v.substr(0, comma));
        v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
        if (rule.empty()) continue;
        if (AsciiLower(std::string(rule)) == "all") {
          config.skip_all = true;
        } else {
          config.skip.emplace_back(rule);
        }
      }
    } else if (key == "error") {
      std::string b = AsciiLower(std::string(v));
      if (b == "true" || b == "1") {
        config.error = true;
      } else if (b == "false" || b == "0") {
        config.error = false;
      } else {
        throw DirectiveError("invalid check option error=" + std::string(v) + ": expected true or false");
      }
    } else {
      throw DirectiveError("unknown check option \"" + key + "\" (expected skip or error)");
    }
  }
  return config;
}

}  // namespace imgbuild::frontend
