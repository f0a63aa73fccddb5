#include "frontend/shell/pattern.h"

#include <vector>

#include "frontend/shell/lexer.h"

namespace imgbuild::frontend::shell {
namespace {

// Byte offsets of every code point start in `s`, plus s.size() at the end.
std::vector<size_t> CodePointStarts(std::string_view s) {
  std::vector<size_t> starts;
  starts.reserve(s.size() + 1);
  size_t i = 0;
  while (i < s.size()) {
    starts.push_back(i);
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 1;
    if (i + len > s.size()) len = 1;
    for (size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) {
        len = 1;
        break;
      }
    }
    i += len;
  }
  starts.push_back(s.size());
  return starts;
}

struct Token {
  enum Kind { kStar, kAny, kLiteral } kind;
  std::string_view text;  // the code point, for kLiteral
};

std::vector<Token> Compile(std::string_view pattern) {
  std::vector<size_t> cp = CodePointStarts(pattern);
  std::vector<Token> tokens;
  for (size_t i = 0; i + 1 < cp.size(); ++i) {
    std::string_view ch = pattern.substr(cp[i], cp[i + 1] - cp[i]);
    if (ch == "*") {
      tokens.push_back({Token::kStar, {}});
    } else if (ch == "?") {
      tokens.push_back({Token::kAny, {}});
    } else if (ch == "\\") {
      if (i + 2 >= cp.size()) throw ExpandError("invalid escape '\\' at end of pattern");
      std::string_view next = pattern.substr(cp[i + 1], cp[i + 2] - cp[i + 1]);
      // `}` and `/` are escaped only to get them past ${...}; the escape is not part of the pattern.
      if (next != "}" && next != "/" && next != "*" && next != "?" && next != "\\") {
        throw ExpandError("invalid escape '\\" + std::string(next) + "' in pattern");
      }
      tokens.push_back({Token::kLiteral, next});
      ++i;
    } else {
      tokens.push_back({Token::kLiteral, ch});
    }
  }
  return tokens;
}

class Matcher {
 public:
  Matcher(std::string_view pattern, std::string_view value)
      : tokens_(Compile(pattern)), value_(value), cp_(CodePointStarts(value)) {}

  size_t CodePoints() const { return cp_.size() - 1; }
  size_t Offset(size_t cp_index) const { return cp_[cp_index]; }

  // Whether the code points [from, to) of the value match the whole pattern.
  bool Matches(size_t from, size_t to) const {
    size_t t = 0, v = from;
    size_t star_t = std::string::npos, star_v = 0;
    while (v < to) {
      if (t < tokens_.size() && tokens_[t].kind == Token::kStar) {
        star_t = t++;
        star_v = v;
      } else if (t < tokens_.size() && (tokens_[t].kind == Token::kAny || Char(v) == tokens_[t].text)) {
        ++t;
        ++v;
      } else if (star_t != std::string::npos) {
        t = star_t + 1;
        v = ++star_v;
      } else {
        return false;
      }
    }
    while (t < tokens_.size() && tokens_[t].kind == Token::kStar) ++t;
    return t == tokens_.size();
  }

 private:
  std::string_view Char(size_t i) const { return value_.substr(cp_[i], cp_[i + 1] - cp_[i]); }

  std::vector<Token> tokens_;
  std::string_view value_;
  std::vector<size_t> cp_;
};

}  // namespace

std::string TrimPrefix(std::string_view pattern, std::string_view value, bool longest) {
  Matcher m(pattern, value);
  size_t n = m.CodePoints();
  for (size_t k = 0; k <= n; ++k) {
    size_t len = longest ? n - k : k;
    if (m.Matches(0, len)) return std::string(value.substr(m.Offset(len)));
  }
  return std::string(value);
}

std::string TrimSuffix(std::string_view pattern, std::string_view value, bool longest) {
  Matcher m(pattern, value);
  size_t n = m.CodePoints();
  for (size_t k = 0; k <= n; ++k) {
    size_t start = longest ? k : n - k;
    if (m.Matches(start, n)) return std::string(value.substr(0, m.Offset(start)));
  }
  return std::string(value);
}

std::string Replace(std::string_view pattern, std::string_view value, std::string_view replacement,
                    bool all) {
  Matcher m(pattern, value);
  size_t n = m.CodePoints();
  std::string out;
  size_t copied = 0;           // code point index up to which value was copied to out
  size_t last_match_end = std::string::npos;
  size_t s = 0;
  while (s <= n) {
    size_t end = std::string::npos;
    for (size_t e = n + 1; e-- > s;) {
      if (m.Matches(s, e)) {
        end = e;
        break;
      }
    }
    // As Go's regexp does: an empty match right after a previous match is not a match.
    if (end == std::string::npos || (end == s && last_match_end == s)) {
      ++s;
      continue;
    }
    out.append(value.substr(m.Offset(copied), m.Offset(s) - m.Offset(copied)));
    out.append(replacement);
    copied = end;
    last_match_end = end;
    if (!all) break;
    s = end > s ? end : s + 1;  // after an empty match the next code point is kept as is
  }
  if (copied <= n) out.append(value.substr(m.Offset(copied)));
  return out;
}

}  // namespace imgbuild::frontend::shell
