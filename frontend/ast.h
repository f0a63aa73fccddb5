// The syntax tree of a Buildfile: parser directives and one Node per instruction, with its flags,
// its arguments split as BuildKit splits them (unexpanded: quotes and $VARs are still there) and
// its heredoc bodies. Meaning (typed instructions, validation) comes later, in lower.h.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "frontend/diagnostics.h"

namespace imgbuild::frontend {

struct CheckConfig {
  bool skip_all = false;
  std::vector<std::string> skip;  // rule names
  bool error = false;             // warnings fail the build
};

struct Directives {
  char escape = '\\';
  std::optional<std::string> syntax;
  std::optional<std::string> escape_value;
  std::optional<std::string> check;
  CheckConfig check_config;
};

namespace ast {

struct Flag {
  std::string name;                  // without the leading "--"
  std::optional<std::string> value;  // std::nullopt for a bare `--name`
  Location location;
};

struct KeyValue {
  std::string key;
  std::string value;
};

struct Heredoc {
  std::string name;
  std::string content;  // the body; with strip_tabs, leading tabs already removed
  bool expand = true;
  bool strip_tabs = false;
  int fd = 0;
};

struct Node {
  std::string keyword;      // upper case
  std::string keyword_raw;  // as written
  Location location;        // of the keyword
  Location args_location;   // where the arguments start
  int end_line = 0;
  std::string original;     // the logical line (continuations joined, comments dropped)
  std::vector<Flag> flags;
  std::string rest;         // the argument text after the flags
  bool json = false;        // exec form
  std::vector<std::string> args;  // words, JSON elements, or the whole text for shell form
  std::vector<KeyValue> pairs;    // ENV and LABEL
  bool legacy_key_value = false;  // `ENV key value`
  std::vector<Heredoc> heredocs;
  std::unique_ptr<Node> inner;    // ONBUILD's trigger
  std::vector<std::string> comments;  // comment lines just before the instruction
  bool empty_continuation = false;    // an empty line inside a continuation (warned about)
  int empty_continuation_line = 0;    // the line after the first such empty line
  bool known = true;                  // false for an unknown instruction
};

struct File {
  std::string name;  // for diagnostics: the path as the user gave it
  std::vector<std::string> lines;  // source lines without line ends, for carets
  Directives directives;
  std::vector<Node> nodes;
  std::vector<Warning> warnings;

  const std::string& Line(int number) const {
    static const std::string kEmpty;
    return number >= 1 && static_cast<size_t>(number) <= lines.size() ? lines[number - 1] : kEmpty;
  }
};

}  // namespace ast
}  // namespace imgbuild::frontend
