// Build checks: BuildKit's lint rules that apply to a Buildfile's text, as Warning values.
// The `# check=` directive's skip list is applied here; `error=true` is the caller's to enforce.
#pragma once

#include <vector>

#include "frontend/ast.h"
#include "frontend/instructions.h"

namespace imgbuild::frontend {

std::vector<Warning> RunChecks(const ast::File& file, const Program& program);

// Names every ARG that may be used in FROM without declaring it (TARGETPLATFORM, BUILDOS, ...).
bool IsPredefinedArg(const std::string& name);
// Only the platform ones (TARGET*, BUILD*): the ARGs FROM sees without a declaration.
bool IsPlatformArg(const std::string& name);

}  // namespace imgbuild::frontend
