#include "builder/cli/build_checks.h"

namespace imgbuild::builder {

bool ReportBuildChecks(const std::string& file, const std::vector<frontend::Warning>& warnings, bool error,
                       std::ostream& err) {
  for (const frontend::Warning& w : warnings) {
    err << "warning: " << file << ":" << w.location.line << ": " << w.rule << ": " << w.message;
    if (!w.url.empty()) err << " (" << w.url << ")";
    err << "\n";
  }
  if (error && !warnings.empty()) {
    // BuildKit's words, at the first warning's line.
    std::string rules;
    for (const frontend::Warning& w : warnings) {
      if (rules.find(w.rule) == std::string::npos) rules += (rules.empty() ? "" : ", ") + w.rule;
    }
    err << "error: " << file << ":" << warnings.front().location.line << ": lint violation found for rules: " << rules
        << " (# check=error=true)\n";
    return false;
  }
  return true;
}

}  // namespace imgbuild::builder
