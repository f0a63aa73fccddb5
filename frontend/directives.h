// Parser directives (`# syntax=`, `# escape=`, `# check=`): recognised only at the very top of the
// file, once each, keys case-insensitive; an unknown directive, a comment, a blank line or an
// instruction ends the directive block.
#pragma once

#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>

#include "frontend/ast.h"
#include "frontend/error.h"

namespace imgbuild::frontend {

class DirectiveError : public Error {
 public:
  using Error::Error;
};

class DirectiveScanner {
 public:
  // Feeds one line (no line end, leading blanks removed). Returns true if it was a directive and
  // applied it to `d`. Throws DirectiveError for a repeated or invalid directive.
  bool Feed(std::string_view line, Directives& d);
  bool done() const { return done_; }

 private:
  bool done_ = false;
  std::set<std::string> seen_;
};

// Parses the value of `# check=`: `skip=Rule1,Rule2;error=true`.
CheckConfig ParseCheckConfig(std::string_view value);

}  // namespace imgbuild::frontend
