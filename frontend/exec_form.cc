#include "frontend/exec_form.h"

#include "frontend/detail/grammar.h"
#include "frontend/shell/unicode.h"

namespace imgbuild::frontend {
namespace {

namespace pegtl = tao::pegtl;
namespace g = grammar::json;

unsigned Hex4(std::string_view s) {
  unsigned v = 0;
  for (char c : s) {
    v <<= 4;
    v |= c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
  }
  return v;
}

// Decodes the body of a JSON string that the grammar already accepted.
std::string Unescape(std::string_view body) {
  std::string out;
  out.reserve(body.size());
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c != '\\') {
      out += c;
      continue;
    }
    char e = body[++i];
    switch (e) {
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        char32_t cp = Hex4(body.substr(i + 1, 4));
        i += 4;
        if (cp >= 0xD800 && cp < 0xDC00 && i + 6 < body.size() && body[i + 1] == '\\' &&
            body[i + 2] == 'u') {
          char32_t lo = Hex4(body.substr(i + 3, 4));
          if (lo >= 0xDC00 && lo < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            i += 6;
          } else {
            cp = 0xFFFD;
          }
        } else if (cp >= 0xD800 && cp < 0xE000) {
          cp = 0xFFFD;  // a lone surrogate, as Go decodes it
        }
        shell::AppendUtf8(out, cp);
        break;
      }
      default: out += e; break;  // " \ /
    }
  }
  return out;
}

template <typename Rule>
struct Action : pegtl::nothing<Rule> {};

template <>
struct Action<g::top_string> {
  template <typename Input>
  static void apply(const Input& in, ExecFormResult& r) {
    std::string_view s = in.string_view();
    r.args.push_back(Unescape(s.substr(1, s.size() - 2)));
  }
};

template <>
struct Action<g::top_other> {
  template <typename Input>
  static void apply(const Input&, ExecFormResult& r) {
    r.kind = ExecFormResult::kNotStrings;
  }
};

}  // namespace

ExecFormResult ParseExecForm(std::string_view text) {
  ExecFormResult result;
  size_t first = text.find_first_not_of(" \t\n\r\v\f");
  if (first == std::string_view::npos || text[first] != '[') return result;
  result.kind = ExecFormResult::kStrings;
  pegtl::memory_input in(text.data(), text.size(), "exec form");
  bool ok = false;
  try {
    ok = pegtl::parse<g::top_array, Action>(in, result);
  } catch (const pegtl::parse_error&) {
    ok = false;
  }
  if (!ok) return ExecFormResult{};
  if (result.kind == ExecFormResult::kNotStrings) result.args.clear();
  return result;
}

}  // namespace imgbuild::frontend
