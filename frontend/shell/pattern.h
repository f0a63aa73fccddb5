// Shell patterns as used inside ${VAR#pat}, ${VAR%pat} and ${VAR/pat/repl}: `*` matches any run of
// characters (slashes included), `?` one character, `\x` the literal x. Matching works on code
// points, so multi-byte UTF-8 text is never split.
#pragma once

#include <string>
#include <string_view>

namespace imgbuild::frontend::shell {

// Removes the shortest (or, with `longest`, the longest) prefix of `value` matching `pattern`.
std::string TrimPrefix(std::string_view pattern, std::string_view value, bool longest);
// Removes the shortest (or longest) suffix of `value` matching `pattern`.
std::string TrimSuffix(std::string_view pattern, std::string_view value, bool longest);
// Replaces the first (or every) leftmost-longest match of `pattern` in `value`.
std::string Replace(std::string_view pattern, std::string_view value, std::string_view replacement,
                    bool all);

}  // namespace imgbuild::frontend::shell
