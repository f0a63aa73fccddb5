#include "frontend/shell/lexer.h"

#include <map>
#include <memory>

#include "frontend/shell/pattern.h"
#include "frontend/shell/unicode.h"

namespace imgbuild::frontend::shell {
namespace {

// Accumulates words the way a POSIX shell splits unquoted text.
class WordSplitter {
 public:
  void AddChar(char32_t c) {
    if (IsSpace(c)) {
      if (in_word_ && !word_.empty()) {
        words_.push_back(std::move(word_));
        word_.clear();
        in_word_ = false;
      }
    } else {
      AddRawChar(c);
    }
  }
  void AddRawChar(char32_t c) {
    AppendUtf8(word_, c);
    in_word_ = true;
  }
  void AddString(std::string_view s) {
    for (size_t i = 0, len = 0; i < s.size(); i += len) AddChar(DecodeAt(s, i, &len));
  }
  void AddRawString(std::string_view s) {
    word_.append(s);
    in_word_ = true;
  }
  std::vector<std::string> Take() {
    if (!word_.empty()) {
      words_.push_back(std::move(word_));
      word_.clear();
      in_word_ = false;
    }
    return std::move(words_);
  }

 private:
  std::string word_;
  std::vector<std::string> words_;
  bool in_word_ = false;
};

bool IsSpecialParam(char32_t c) {
  switch (c) {
    case '@': case '*': case '#': case '?': case '-': case '$': case '!': case '0':
      return true;
    default:
      return false;
  }
}

class Expander {
 public:
  Expander(std::string_view input, const Lookup& lookup, const LexOptions& options)
      : input_(input), lookup_(lookup), options_(options), raw_escapes_(options.raw_escapes) {}

  Expansion Run() {
    Expansion result;
    std::vector<std::string> words;
    result.word = ProcessStopOn(kEof, options_.raw_escapes, &words);
    result.words = std::move(words);
    result.matched = std::move(matched_);
    result.unmatched = std::move(unmatched_);
    return result;
  }

 private:
  char32_t Peek() const {
    if (pos_ >= input_.size()) return kEof;
    size_t len;
    return DecodeAt(input_, pos_, &len);
  }
  char32_t Next() {
    if (pos_ >= input_.size()) return kEof;
    size_t len;
    char32_t c = DecodeAt(input_, pos_, &len);
    pos_ += len;
    return c;
  }

  int depth_ = 0;

  std::optional<std::string> Get(const std::string& name) {
    std::optional<std::string> v = lookup_ ? lookup_(name) : std::nullopt;
    (v ? matched_ : unmatched_).insert(name);
    return v;
  }

  std::string ProcessStopOn(char32_t stop, bool raw_escapes, std::vector<std::string>* words_out) {
    // ${a:-${b:-...}} recurses once per level: bounded, so a hostile Buildfile cannot exhaust
    // the stack.
    struct Depth {
      explicit Depth(int& d) : d_(++d) {}
      ~Depth() { --d_; }
      int& d_;
    } depth(depth_);
    if (depth_ > kMaxExpansionDepth) {
      throw ExpandError("variable substitutions are nested more than " + std::to_string(kMaxExpansionDepth) +
                        " levels deep");
    }
    std::string result;
    WordSplitter words;
    bool saved_raw = raw_escapes_;
    raw_escapes_ = raw_escapes;
    while (Peek() != kEof) {
      char32_t c = Peek();
      if (stop != kEof && c == stop) {
        Next();
        raw_escapes_ = saved_raw;
        if (words_out) *words_out = words.Take();
        return result;
      }
      if (c == '$') {
        std::string value = ProcessDollar();
        result += value;
        words.AddString(value);
      } else if (!options_.raw_quotes && (c == '\'' || c == '"')) {
        std::string value = c == '\'' ? ProcessSingleQuote() : ProcessDoubleQuote();
        result += value;
        words.AddRawString(value);
      } else {
        c = Next();
        if (c == static_cast<unsigned char>(options_.escape)) {
          if (raw_escapes_) {
            words.AddRawChar(c);
            AppendUtf8(result, c);
          }
          c = Next();
          if (c == kEof) break;  // a lone escape at the very end is dropped
          words.AddRawChar(c);
        } else {
          words.AddChar(c);
        }
        AppendUtf8(result, c);
      }
    }
    raw_escapes_ = saved_raw;
    if (stop != kEof) {
      std::string s;
      AppendUtf8(s, stop);
      throw ExpandError("unexpected end of statement while looking for matching " + s);
    }
    if (words_out) *words_out = words.Take();
    return result;
  }

  std::string ProcessSingleQuote() {
    std::string result;
    char32_t c = Next();
    if (options_.raw_quotes) AppendUtf8(result, c);
    for (;;) {
      c = Next();
      if (c == kEof) {
        throw ExpandError("unexpected end of statement while looking for matching single-quote");
      }
      if (c == '\'') {
        if (options_.raw_quotes) AppendUtf8(result, c);
        return result;
      }
      AppendUtf8(result, c);
    }
  }

  std::string ProcessDoubleQuote() {
    std::string result;
    char32_t c = Next();
    if (options_.raw_quotes) AppendUtf8(result, c);
    const char32_t escape = static_cast<unsigned char>(options_.escape);
    for (;;) {
      char32_t p = Peek();
      if (p == kEof) {
        throw ExpandError("unexpected end of statement while looking for matching double-quote");
      }
      if (p == '"') {
        c = Next();
        if (options_.raw_quotes) AppendUtf8(result, c);
        return result;
      }
      if (p == '$') {
        result += ProcessDollar();
        continue;
      }
      c = Next();
      if (c == escape) {
        if (raw_escapes_) AppendUtf8(result, c);
        char32_t n = Peek();
        if (n == kEof) continue;  // the missing quote is reported on the next turn
        if (n == '"' || n == '$' || n == escape) c = Next();
      }
      AppendUtf8(result, c);
    }
  }

  std::string ProcessName() {
    std::string name;
    while (Peek() != kEof) {
      char32_t c = Peek();
      if (name.empty() && IsDigit(c)) {
        while (Peek() != kEof && IsDigit(Peek())) AppendUtf8(name, Next());
        return name;
      }
      if (name.empty() && IsSpecialParam(c)) {
        AppendUtf8(name, Next());
        return name;
      }
      if (!IsLetter(c) && !IsDigit(c) && c != '_') break;
      AppendUtf8(name, Next());
    }
    return name;
  }

  std::string ProcessDollar() {
    Next();  // '$'
    if (Peek() != '{') {
      std::string name = ProcessName();
      if (name.empty()) return "$";
      std::optional<std::string> value = Get(name);
      if (!value && options_.skip_unset) return "$" + name;
      return value.value_or("");
    }
    Next();  // '{'
    switch (Peek()) {
      case kEof:
        throw ExpandError("syntax error: missing '}'");
      case '{': case '}': case ':':
        throw ExpandError("syntax error: bad substitution");
      default:
        break;
    }
    std::string name = ProcessName();
    char32_t c = Next();
    std::string modifier;
    AppendUtf8(modifier, c == kEof ? U'?' : c);
    if (c == kEof) throw ExpandError("syntax error: missing '}'");
    if (c == '}') {
      std::optional<std::string> value = Get(name);
      if (!value && options_.skip_unset) return "${" + name + "}";
      return value.value_or("");
    }
    bool null_is_unset = false;
    if (c == ':') {
      null_is_unset = true;
      c = Next();
      if (c == kEof) throw ExpandError("syntax error: missing '}'");
      AppendUtf8(modifier, c);
    }
    if (c == '+' || c == '-' || c == '?' || c == '#' || c == '%') {
      bool raw = c == '#' || c == '%';
      if (null_is_unset && raw) {
        throw ExpandError("unsupported modifier (" + modifier + ") in substitution");
      }
      std::string word;
      try {
        word = ProcessStopOn('}', raw, nullptr);
      } catch (const ExpandError&) {
        if (Peek() == kEof) throw ExpandError("syntax error: missing '}'");
        throw;
      }
      std::optional<std::string> value = Get(name);
      if (options_.skip_unset && !value) return "${" + name + modifier + word + "}";
      bool unset = !value || (null_is_unset && value->empty());
      switch (c) {
        case '-':
          return unset ? word : *value;
        case '+':
          return unset ? std::string() : word;
        case '?':
          if (!value) {
            throw ExpandError(name + ": " + (word.empty() ? "is not allowed to be unset" : word));
          }
          if (null_is_unset && value->empty()) {
            throw ExpandError(name + ": " + (word.empty() ? "is not allowed to be empty" : word));
          }
          return *value;
        default: {  // '#' or '%': shortest match, doubled for the longest
          bool longest = !word.empty() && static_cast<char32_t>(word[0]) == c;
          if (longest) word.erase(0, 1);
          std::string v = value.value_or("");
          return c == '%' ? TrimSuffix(word, v, longest) : TrimPrefix(word, v, longest);
        }
      }
    }
    if (c == '/' && !null_is_unset) {
      bool all = Peek() == '/';
      if (all) Next();
      std::string pattern, replacement;
      try {
        pattern = ProcessStopOn('/', true, nullptr);
      } catch (const ExpandError&) {
        if (Peek() == kEof) throw ExpandError("syntax error: missing '/' in ${}");
        throw;
      }
      try {
        replacement = ProcessStopOn('}', true, nullptr);
      } catch (const ExpandError&) {
        if (Peek() == kEof) throw ExpandError("syntax error: missing '}' in ${}");
        throw;
      }
      std::optional<std::string> value = Get(name);
      if (options_.skip_unset && !value) {
        return "${" + name + "/" + pattern + "/" + replacement + "}";
      }
      return Replace(pattern, value.value_or(""), replacement, all);
    }
    throw ExpandError("unsupported modifier (" + modifier + ") in substitution");
  }

  std::string_view input_;
  const Lookup& lookup_;
  const LexOptions& options_;
  bool raw_escapes_;
  size_t pos_ = 0;
  std::set<std::string> matched_;
  std::set<std::string> unmatched_;
};

}  // namespace

Expansion Expand(std::string_view input, const Lookup& lookup, const LexOptions& options) {
  try {
    return Expander(input, lookup, options).Run();
  } catch (const ExpandError& e) {
    throw ExpandError("failed to process \"" + std::string(input) + "\": " + e.what());
  }
}

std::string ExpandWord(std::string_view input, const Lookup& lookup, char escape) {
  LexOptions options;
  options.escape = escape;
  return Expand(input, lookup, options).word;
}

std::vector<std::string> ExpandWords(std::string_view input, const Lookup& lookup, char escape) {
  LexOptions options;
  options.escape = escape;
  return Expand(input, lookup, options).words;
}

Lookup LookupFromEnvList(const std::vector<std::string>& env) {
  auto map = std::make_shared<std::map<std::string, std::string, std::less<>>>();
  for (const std::string& kv : env) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos) {
      (*map)[kv] = "";
    } else {
      (*map)[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
  }
  return [map](std::string_view name) -> std::optional<std::string> {
    auto it = map->find(name);
    if (it == map->end()) return std::nullopt;
    return it->second;
  };
}

}  // namespace imgbuild::frontend::shell
