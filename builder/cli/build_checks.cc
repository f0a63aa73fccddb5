#include "builder/cli/build_checks.h"

namespace imgbuild::builder {
namespace {

std::string CheckLine(const std::string& file, const frontend::Warning& w) {
  return file + ":" + std::to_string(w.location.line) + ": " + w.rule + ": " + w.message +
         (w.url.empty() ? "" : " (" + w.url + ")");
}

// BuildKit's words, at the first warning's line.
std::string CheckFailure(const std::string& file, const std::vector<frontend::Warning>& warnings) {
  std::string rules;
  for (const frontend::Warning& w : warnings) {
    if (rules.find(w.rule) == std::string::npos) rules += (rules.empty() ? "" : ", ") + w.rule;
  }
  return file + ":" + std::to_string(warnings.front().location.line) + ": lint violation found for rules: " + rules +
         " (# check=error=true)";
}

}  // namespace

bool ReportBuildChecks(const std::string& file, const std::vector<frontend::Warning>& warnings, bool error,
                       std::ostream& err) {
  for (const frontend::Warning& w : warnings) err << "warning: " << CheckLine(file, w) << "\n";
  if (error && !warnings.empty()) {
    err << "error: " << CheckFailure(file, warnings) << "\n";
    return false;
  }
  return true;
}

std::string ReportBuildChecks(const std::string& file, const std::vector<frontend::Warning>& warnings, bool error,
                              Status& status) {
  for (const frontend::Warning& w : warnings) status.Warning(CheckLine(file, w));
  return error && !warnings.empty() ? CheckFailure(file, warnings) : "";
}

}  // namespace imgbuild::builder
