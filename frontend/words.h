// Splitting a logical instruction line into words the way BuildKit's Dockerfile parser does,
// before any variable expansion: flag words at the start, quote-aware words for ENV/LABEL/ARG, and
// blank-separated words for FROM/EXPOSE/COPY.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace imgbuild::frontend {

// A `--name[=value]` word at the start of an instruction's arguments, with quotes and
// backslashes already resolved; `offset` is where it starts in the scanned text.
struct FlagWord {
  std::string text;
  size_t offset = 0;
};

struct FlagSplit {
  std::vector<FlagWord> flags;
  std::string rest;        // what follows the flags
  size_t rest_offset = 0;  // where `rest` starts in the scanned text
};

// Takes the leading words that start with "--"; a lone "--" ends the flags.
FlagSplit SplitFlags(std::string_view text);

// Quote-aware split that keeps quotes and escapes in the words (they are removed later, by
// expansion). `escape` is the active escape character.
std::vector<std::string> SplitWords(std::string_view text, char escape);

// Split on runs of [ \t\v\f\r]; no quote handling. Empty input gives no words.
std::vector<std::string> SplitOnBlanks(std::string_view text);

// ASCII case mapping (keywords, flag values, stage names).
std::string AsciiLower(std::string_view s);
std::string AsciiUpper(std::string_view s);

// Go's strings.TrimSpace over ASCII and the common Unicode blanks.
std::string_view TrimSpace(std::string_view s);

}  // namespace imgbuild::frontend
