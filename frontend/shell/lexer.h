// Shell-style word expansion for Buildfile arguments, as BuildKit's shell lexer does it:
// quote removal, escapes (backslash or backtick), $VAR and ${VAR...} with the modifiers
// :- - :+ + :? ? # ## % %% / //, expansion to one string or to a list of words.
// It never runs a shell; it reports which variables it read so cache keys can use them.
#pragma once

#include <functional>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>
#include "frontend/error.h"

namespace imgbuild::frontend::shell {

// How deep ${a:-${b:-...}} substitutions may nest (an ExpandError beyond).
inline constexpr int kMaxExpansionDepth = 100;

// Looks a variable up; std::nullopt means unset (which differs from set-but-empty).
using Lookup = std::function<std::optional<std::string>(std::string_view name)>;

struct LexOptions {
  char escape = '\\';
  bool raw_quotes = false;      // keep quote characters in the result
  bool raw_escapes = false;     // keep escape characters in the result
  bool skip_unset = false;      // leave $VAR / ${VAR...} text as is when VAR is unset
};

// Thrown when a word cannot be expanded (unterminated quote, bad substitution, ${V:?} ...).
class ExpandError : public frontend::Error {
 public:
  using frontend::Error::Error;
};

struct Expansion {
  std::string word;                 // the whole input as one string
  std::vector<std::string> words;   // the input split into words
  std::set<std::string> matched;    // variables read that were set
  std::set<std::string> unmatched;  // variables read that were unset
};

// Expands `input`. Throws ExpandError.
Expansion Expand(std::string_view input, const Lookup& lookup, const LexOptions& options = {});

// Convenience wrappers.
std::string ExpandWord(std::string_view input, const Lookup& lookup, char escape = '\\');
std::vector<std::string> ExpandWords(std::string_view input, const Lookup& lookup,
                                     char escape = '\\');

// Lookup over a list of "NAME=VALUE" strings; the last definition of a name wins.
Lookup LookupFromEnvList(const std::vector<std::string>& env);

}  // namespace imgbuild::frontend::shell
