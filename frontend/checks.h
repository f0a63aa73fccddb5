// Build checks: BuildKit's lint rules that apply to a Buildfile's text, as Warning values.
// The `# check=` directive's skip list is applied here; `error=true` is the caller's to enforce.
#pragma once

#include <cstdint>
#include <vector>

#include "frontend/ast.h"
#include "frontend/instructions.h"

namespace imgbuild::frontend {

// `nodes`: how many of the file's nodes to check (those before a parse error); all by default.
std::vector<Warning> RunChecks(const ast::File& file, const Program& program, size_t nodes = SIZE_MAX);

// Names every ARG that may be used in FROM without declaring it (TARGETPLATFORM, BUILDOS, ...).
bool IsPredefinedArg(const std::string& name);
// Only the platform ones (TARGET*, BUILD*): the ARGs FROM sees without a declaration.
bool IsPlatformArg(const std::string& name);

}  // namespace imgbuild::frontend
