#include "frontend/words.h"

#include "frontend/shell/unicode.h"

namespace imgbuild::frontend {
namespace {

using shell::DecodeAt;
using shell::IsSpace;

bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

}  // namespace

std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string AsciiUpper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

std::string_view TrimSpace(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e) {
    size_t len;
    if (!IsSpace(DecodeAt(s, b, &len))) break;
    b += len;
  }
  while (e > b) {
    size_t start = e - 1;
    while (start > b && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80) --start;
    size_t len;
    if (!IsSpace(DecodeAt(s, start, &len))) break;
    e = start;
  }
  return s.substr(b, e - b);
}

FlagSplit SplitFlags(std::string_view line) {
  FlagSplit out;
  size_t pos = 0;
  const size_t n = line.size();
  for (;;) {
    while (pos < n && IsAsciiSpace(line[pos])) ++pos;
    if (pos >= n) {
      out.rest_offset = n;
      return out;
    }
    if (line[pos] != '-' || pos + 1 >= n || line[pos + 1] != '-') {
      out.rest = std::string(line.substr(pos));
      out.rest_offset = pos;
      return out;
    }
    FlagWord word;
    word.offset = pos;
    bool blank_ok = false;
    char quote = 0;
    for (; pos < n; ++pos) {
      char c = line[pos];
      if (quote) {
        if (c == quote) {
          quote = 0;
        } else if (c == '\\') {
          if (pos + 1 >= n) {
            quote = 0;  // a backslash at the very end is dropped
          } else {
            word.text += line[++pos];
          }
        } else {
          word.text += c;
        }
        continue;
      }
      if (IsAsciiSpace(c)) break;
      if (c == '\'' || c == '"') {
        quote = c;
        blank_ok = true;
      } else if (c == '\\') {
        if (pos + 1 < n) word.text += line[++pos];
      } else {
        word.text += c;
      }
    }
    if (word.text == "--") {
      while (pos < n && IsAsciiSpace(line[pos])) ++pos;
      out.rest = std::string(line.substr(pos));
      out.rest_offset = pos;
      return out;
    }
    if (blank_ok || !word.text.empty()) out.flags.push_back(std::move(word));
  }
}

std::vector<std::string> SplitWords(std::string_view text, char escape) {
  enum { kSpaces, kWord, kQuote } phase = kSpaces;
  std::vector<std::string> words;
  std::string word;
  char32_t quote = 0;
  bool blank_ok = false;
  const char32_t esc = static_cast<unsigned char>(escape);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t len;
    char32_t ch = DecodeAt(text, pos, &len);
    std::string_view raw = text.substr(pos, len);
    if (phase == kSpaces) {
      if (IsSpace(ch)) {
        pos += len;
        continue;
      }
      phase = kWord;
    }
    if (phase == kWord) {
      if (IsSpace(ch)) {
        phase = kSpaces;
        if (blank_ok || !word.empty()) words.push_back(word);
        word.clear();
        blank_ok = false;
        pos += len;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blank_ok = true;
        phase = kQuote;
      }
      if (ch == esc) {
        if (pos + len == text.size()) {  // an escape at the very end is dropped
          pos += len;
          continue;
        }
        // Outside quotes an escape keeps the next character, even a quote, as part of the word.
        word += raw;
        pos += len;
        ch = DecodeAt(text, pos, &len);
        raw = text.substr(pos, len);
      }
      word += raw;
      pos += len;
      continue;
    }
    // kQuote
    if (ch == quote) phase = kWord;
    if (ch == esc && quote != '\'') {
      if (pos + len == text.size()) {
        phase = kWord;
        pos += len;
        continue;
      }
      pos += len;
      word += raw;
      ch = DecodeAt(text, pos, &len);
      raw = text.substr(pos, len);
    }
    word += raw;
    pos += len;
  }
  if (phase != kSpaces && (blank_ok || !word.empty())) words.push_back(word);
  return words;
}

std::vector<std::string> SplitOnBlanks(std::string_view text) {
  std::vector<std::string> words;
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r'; };
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && blank(text[i])) ++i;
    size_t start = i;
    while (i < text.size() && !blank(text[i])) ++i;
    if (i > start) words.emplace_back(text.substr(start, i - start));
  }
  return words;
}

}  // namespace imgbuild::frontend
