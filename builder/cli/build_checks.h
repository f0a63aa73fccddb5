// How every command reports BuildKit's build checks: one "warning: FILE:LINE: Rule: message
// (url)" line each, and the failure that `# check=error=true` makes of them.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "builder/progress/status.h"
#include "frontend/diagnostics.h"

namespace imgbuild::builder {

// Prints `warnings`; false (after saying so) when `error` makes them fail the command.
bool ReportBuildChecks(const std::string& file, const std::vector<frontend::Warning>& warnings, bool error,
                       std::ostream& err);
// The same through a build's Status (each a Warning); returns the failure's text, or "".
std::string ReportBuildChecks(const std::string& file, const std::vector<frontend::Warning>& warnings, bool error,
                              Status& status);

}  // namespace imgbuild::builder
