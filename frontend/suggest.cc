#include "frontend/suggest.h"
#include "frontend/words.h"

#include <algorithm>
#include <cctype>

namespace imgbuild::frontend {
namespace {

size_t Distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      // transposition of two neighbours counts as one edit
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        cur[j] = std::min(cur[j], prev[j - 1]);
      }
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::optional<std::string> Suggest(std::string_view word, const std::vector<std::string>& candidates,
                                   bool case_insensitive) {
  std::string w = case_insensitive ? AsciiLower(word) : std::string(word);
  std::optional<std::string> best;
  size_t best_distance = SIZE_MAX;
  for (const std::string& c : candidates) {
    std::string cc = case_insensitive ? AsciiLower(c) : c;
    size_t d = Distance(w, cc);
    // A prefix that is most of the candidate (--chmo for --chmod) is a typo too.
    if (cc.size() > w.size() && cc.compare(0, w.size(), w) == 0 && (w.size() * 3 >= cc.size() * 2 || w.size() >= 3)) d = 1;
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  size_t limit = std::max<size_t>(1, std::min<size_t>(3, w.size() / 3));
  if (!best || best_distance == 0 || best_distance > limit) return std::nullopt;
  return best;
}

std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates,
                       std::string_view prefix, bool case_insensitive) {
  std::optional<std::string> s = Suggest(word, candidates, case_insensitive);
  if (!s) return "";
  return " (did you mean " + std::string(prefix) + *s + "?)";
}

}  // namespace imgbuild::frontend
