// "Did you mean ...?" for misspelt instructions, flags, mount keys and stage names.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace imgbuild::frontend {

// The candidate closest to `word` by edit distance, if it is close enough to be a likely typo.
std::optional<std::string> Suggest(std::string_view word, const std::vector<std::string>& candidates,
                                   bool case_insensitive = true);

// " (did you mean X?)" or "".
std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates,
                       std::string_view prefix = "", bool case_insensitive = true);

}  // namespace imgbuild::frontend
