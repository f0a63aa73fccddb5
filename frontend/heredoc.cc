#include "frontend/heredoc.h"

#include <algorithm>

#include "frontend/detail/grammar.h"
#include "frontend/shell/lexer.h"

namespace imgbuild::frontend {
namespace {

namespace pegtl = tao::pegtl;

struct MarkerParts {
  std::string fd, word;
  bool chomp = false;
};

template <typename Rule>
struct Action : pegtl::nothing<Rule> {};
template <>
struct Action<grammar::heredoc_fd> {
  template <typename Input>
  static void apply(const Input& in, MarkerParts& p) { p.fd = in.string(); }
};
template <>
struct Action<grammar::heredoc_chomp> {
  template <typename Input>
  static void apply(const Input&, MarkerParts& p) { p.chomp = true; }
};
template <>
struct Action<grammar::heredoc_word> {
  template <typename Input>
  static void apply(const Input& in, MarkerParts& p) { p.word = in.string(); }
};

size_t CountQuotes(const std::string& s) {
  return static_cast<size_t>(std::count(s.begin(), s.end(), '\'') + std::count(s.begin(), s.end(), '"'));
}

}  // namespace

std::optional<HeredocMarker> ParseHeredocMarker(std::string_view word) {
  MarkerParts parts;
  pegtl::memory_input in(word.data(), word.size(), "heredoc");
  if (!pegtl::parse<grammar::heredoc_marker, Action>(in, parts)) return std::nullopt;
  if (parts.word.empty()) return std::nullopt;

  // Lex the delimiter with and without quote removal: if the counts of quote characters differ,
  // part of it was quoted, and the body is then taken literally.
  shell::LexOptions options;
  options.skip_unset = true;
  std::vector<std::string> words, raw;
  try {
    words = shell::Expand(parts.word, nullptr, options).words;
    options.raw_quotes = true;
    raw = shell::Expand(parts.word, nullptr, options).words;
  } catch (const shell::ExpandError&) {
    return std::nullopt;  // `<<E${}`: not a delimiter; the word is reported where it is expanded
  }
  if (words.size() != 1 || raw.size() != 1) return std::nullopt;

  HeredocMarker marker;
  marker.name = words[0];
  marker.expand = CountQuotes(words[0]) == CountQuotes(raw[0]);
  marker.strip_tabs = parts.chomp;
  marker.fd = parts.fd.empty() ? 0 : std::stoi(parts.fd.substr(0, 9));
  return marker;
}

std::vector<HeredocMarker> HeredocMarkersInLine(std::string_view line) {
  shell::LexOptions options;
  options.raw_quotes = true;
  options.raw_escapes = true;
  options.skip_unset = true;
  std::vector<std::string> words;
  try {
    words = shell::Expand(line, nullptr, options).words;
  } catch (const shell::ExpandError&) {
    return {};  // BuildKit ignores lexing errors here; the instruction itself reports them
  }
  std::vector<HeredocMarker> markers;
  for (const std::string& w : words) {
    if (auto m = ParseHeredocMarker(w)) markers.push_back(std::move(*m));
  }
  return markers;
}

}  // namespace imgbuild::frontend
