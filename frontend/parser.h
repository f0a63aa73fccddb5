// Buildfile text -> ast::File. Handles directives, BOM, CRLF, comments, line continuations with the
// active escape character, heredoc bodies and exec vs shell form, with BuildKit's rules.
// Throws ParseError (file:line:col, source line, caret) for text BuildKit's parser rejects.
#pragma once

#include <string>
#include <string_view>

#include "frontend/ast.h"

namespace imgbuild::frontend {

ast::File Parse(std::string_view text, std::string file_name = "Buildfile");

}  // namespace imgbuild::frontend
