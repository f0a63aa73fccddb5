#include "frontend/dockerignore.h"

#include <sys/stat.h>

#include "frontend/shell/unicode.h"

namespace imgbuild::frontend {
namespace {

using Token = IgnoreMatcher::Token;

std::vector<Token> Compile(const std::string& p) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < p.size()) {
    char c = p[i];
    if (c == '*') {
      if (i + 1 < p.size() && p[i + 1] == '*') {
        i += 2;
        if (i < p.size() && p[i] == '/') ++i;  // "**/" is "**"
        tokens.push_back({i >= p.size() ? Token::kDoubleStarEnd : Token::kDoubleStarDir, {}});
        continue;
      }
      tokens.push_back({Token::kStar, {}});
      ++i;
    } else if (c == '?') {
      tokens.push_back({Token::kAny, {}});
      ++i;
    } else if (c == '[') {
      size_t j = i + 1;
      bool negated = false;
      if (j < p.size() && (p[j] == '^' || p[j] == '!')) {
        negated = true;
        ++j;
      }
      size_t body_start = j;
      if (j < p.size() && p[j] == ']') ++j;  // a leading ] is literal
      while (j < p.size() && p[j] != ']') {
        if (p[j] == '\\' && j + 1 < p.size()) ++j;
        ++j;
      }
      if (j >= p.size()) throw IgnorePatternError("syntax error in pattern \"" + p + "\": unclosed [");
      tokens.push_back({Token::kClass, p.substr(body_start, j - body_start), negated});
      i = j + 1;
    } else {
      if (c == '\\' && i + 1 < p.size()) ++i;
      size_t len;
      shell::DecodeAt(p, i, &len);
      tokens.push_back({Token::kLiteral, p.substr(i, len)});
      i += len;
    }
  }
  return tokens;
}

bool ClassMatches(const Token& t, std::string_view ch) {
  size_t cl;
  char32_t c = shell::DecodeAt(ch, 0, &cl);
  const std::string& b = t.text;
  bool hit = false;
  for (size_t i = 0; i < b.size();) {
    size_t len;
    if (b[i] == '\\' && i + 1 < b.size()) ++i;
    char32_t lo = shell::DecodeAt(b, i, &len);
    i += len;
    char32_t hi = lo;
    if (i + 1 < b.size() && b[i] == '-') {
      ++i;
      if (b[i] == '\\' && i + 1 < b.size()) ++i;
      hi = shell::DecodeAt(b, i, &len);
      i += len;
    }
    if (c >= lo && c <= hi) hit = true;
  }
  return hit != t.negated;
}

// Backtracking match of tokens[t..] against s[pos..], the whole rest of s.
bool Match(const std::vector<Token>& tokens, size_t t, std::string_view s, size_t pos) {
  while (t < tokens.size()) {
    const Token& tok = tokens[t];
    switch (tok.kind) {
      case Token::kDoubleStarEnd:
        return true;
      case Token::kDoubleStarDir:
        // (.*/)? : nothing, or anything ending in a slash.
        if (Match(tokens, t + 1, s, pos)) return true;
        for (size_t k = pos; k < s.size(); ++k) {
          if (s[k] == '/' && Match(tokens, t + 1, s, k + 1)) return true;
        }
        return false;
      case Token::kStar:
        for (size_t k = pos;; ++k) {
          if (Match(tokens, t + 1, s, k)) return true;
          if (k >= s.size() || s[k] == '/') return false;
        }
      case Token::kAny:
      case Token::kClass: {
        if (pos >= s.size() || s[pos] == '/') return false;
        size_t len;
        shell::DecodeAt(s, pos, &len);
        if (tok.kind == Token::kClass && !ClassMatches(tok, s.substr(pos, len))) return false;
        pos += len;
        ++t;
        break;
      }
      case Token::kLiteral:
        if (s.compare(pos, tok.text.size(), tok.text) != 0) return false;
        pos += tok.text.size();
        ++t;
        break;
    }
  }
  return pos == s.size();
}

}  // namespace

std::string CleanSlashPath(std::string_view path) {
  if (path.empty()) return ".";
  bool rooted = path[0] == '/';
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    std::string part(path.substr(start, slash - start));
    if (part == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!rooted) {
        parts.push_back(part);
      }
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = slash + 1;
  }
  std::string out = rooted ? "/" : "";
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? "/" : "") + parts[i];
  return out.empty() ? "." : out;
}

IgnoreMatcher::IgnoreMatcher(const std::vector<std::string>& patterns) {
  for (const std::string& raw : patterns) {
    Pattern p;
    std::string text = raw;
    if (!text.empty() && text[0] == '!') {
      p.exclusion = true;
      has_exceptions_ = true;
      text.erase(0, 1);
      if (text.empty()) throw IgnorePatternError("illegal exclusion pattern: \"!\"");
    }
    p.text = text;
    p.tokens = Compile(text);
    patterns_.push_back(std::move(p));
  }
}

bool IgnoreMatcher::Excluded(std::string_view path) const {
  std::string file = CleanSlashPath(path);
  std::vector<std::string> parents;  // "a", "a/b" for "a/b/c"
  for (size_t k = file.find('/'); k != std::string::npos; k = file.find('/', k + 1)) {
    parents.push_back(file.substr(0, k));
  }
  bool matched = false;
  for (const Pattern& p : patterns_) {
    // An inclusion that already matched, or an exception with nothing to undo, changes nothing.
    if (p.exclusion != matched) continue;
    bool hit = Match(p.tokens, 0, file, 0);
    for (size_t i = 0; !hit && i < parents.size(); ++i) hit = Match(p.tokens, 0, parents[i], 0);
    if (hit) matched = !p.exclusion;
  }
  return matched;
}

std::vector<std::string> ReadIgnoreFile(std::string_view text) {
  std::vector<std::string> out;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line[0] == '#') continue;
    auto trim = [](std::string_view s) {
      while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
      while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
      return s;
    };
    line = trim(line);
    if (line.empty()) continue;
    bool invert = line[0] == '!';
    if (invert) line = trim(line.substr(1));
    std::string pattern(line);
    if (!pattern.empty()) {
      pattern = CleanSlashPath(pattern);
      if (pattern.size() > 1 && pattern[0] == '/') pattern.erase(0, 1);
    }
    out.push_back(invert ? "!" + pattern : pattern);
    if (nl == text.size()) break;
  }
  return out;
}

std::optional<std::string> FindIgnoreFile(const std::string& buildfile_path, const std::string& context_dir) {
  struct stat st;
  if (!buildfile_path.empty() && buildfile_path != "-") {
    std::string beside = buildfile_path + ".dockerignore";
    if (stat(beside.c_str(), &st) == 0 && S_ISREG(st.st_mode)) return beside;
  }
  std::string in_context = context_dir + "/.dockerignore";
  if (stat(in_context.c_str(), &st) == 0 && S_ISREG(st.st_mode)) return in_context;
  return std::nullopt;
}

}  // namespace imgbuild::frontend
