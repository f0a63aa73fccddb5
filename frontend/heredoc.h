// Heredoc markers (`<<EOF`, `<<-EOF`, `<<"EOF"`, `3<<EOF`) in RUN, COPY and ADD lines, found the
// way BuildKit finds them: the line is split into shell words with quotes kept, and each word
// is matched against the marker form.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace imgbuild::frontend {

struct HeredocMarker {
  std::string name;        // the delimiter, quotes removed
  bool expand = true;      // false when any part of the delimiter was quoted
  bool strip_tabs = false; // `<<-`
  int fd = 0;              // `3<<EOF`
};

// The marker a single word denotes, if any. Throws shell::ExpandError on a malformed word.
std::optional<HeredocMarker> ParseHeredocMarker(std::string_view word);

// Every marker in a logical line, in order.
std::vector<HeredocMarker> HeredocMarkersInLine(std::string_view line);

}  // namespace imgbuild::frontend
