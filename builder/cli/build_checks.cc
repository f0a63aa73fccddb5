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
    err << "error: " << file << ": " << warnings.size() << " build check warning(s) and # check=error=true\n";
    return false;
  }
  return true;
}

}  // namespace imgbuild::builder
