// Exec form: an instruction argument written as a JSON array of strings.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace imgbuild::frontend {

struct ExecFormResult {
  enum Kind { kNotJson, kStrings, kNotStrings } kind = kNotJson;
  std::vector<std::string> args;  // for kStrings
};

// kNotJson when `text` is not a JSON array (the caller falls back to shell form), kNotStrings when
// it is one but holds something other than strings (an error, as in BuildKit).
ExecFormResult ParseExecForm(std::string_view text);

}  // namespace imgbuild::frontend
