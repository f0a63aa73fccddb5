// Where things are in a Buildfile and what is wrong with them: Location, ParseError (an error that
// aborts parsing, rendered as `file:line:col: message` plus the source line and a caret) and
// Warning (a build-check finding; a value, never printed here).
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>
#include "frontend/error.h"

namespace imgbuild::frontend {

struct Location {
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based, in characters
};

struct Warning {
  std::string rule;     // BuildKit build-check rule name, e.g. "JSONArgsRecommended"
  std::string message;  // one sentence
  Location location;
  std::string url;      // documentation of the rule
};

class ParseError : public Error {
 public:
  // `source_line` is the text of line `loc.line`, used for the caret display.
  ParseError(std::string file, Location loc, std::string message, std::string source_line = {});

  const std::string& file() const { return file_; }
  const Location& location() const { return loc_; }
  const std::string& message() const { return message_; }
  const std::string& source_line() const { return source_line_; }
  // Build checks of the instructions before the error (BuildKit reports them first).
  const std::vector<Warning>& warnings() const { return warnings_; }
  void set_warnings(std::vector<Warning> w) { warnings_ = std::move(w); }

 private:
  std::string file_;
  Location loc_;
  std::string message_;
  std::string source_line_;
  std::vector<Warning> warnings_;
};

// Renders `file:line:col: message`, then the source line and a caret under the column.
std::string FormatDiagnostic(std::string_view file, Location loc, std::string_view message,
                             std::string_view source_line);

// Lines `first`..`last` (1-based) of `text`, each as "%5d | line\n": how a failing step's
// instructions are shown under its error.
std::string FormatSourceLines(std::string_view text, int first, int last);


}  // namespace imgbuild::frontend
