#include "builder/progress/platform_status.h"

namespace imgbuild::builder {

void PlatformStatus::Planned(int steps) {
  std::lock_guard<std::mutex> lock(shared_.mu);
  shared_.planned += steps;
  inner_.Planned(shared_.planned);
}

void PlatformStatus::StepStarted(int step, const std::string& label) {
  // "[stage 2/3] RUN x" becomes "[linux/arm64 stage 2/3] RUN x", as BuildKit labels them.
  std::string shown = !label.empty() && label[0] == '[' ? "[" + platform_ + " " + label.substr(1) : platform_ + " " + label;
  std::lock_guard<std::mutex> lock(shared_.mu);
  inner_.StepStarted(offset_ + step, shown);
}

void PlatformStatus::StepOutput(int step, std::string_view data) {
  std::lock_guard<std::mutex> lock(shared_.mu);
  inner_.StepOutput(offset_ + step, data);
}

void PlatformStatus::StepDone(int step, double seconds, const std::string& detail) {
  std::lock_guard<std::mutex> lock(shared_.mu);
  inner_.StepDone(offset_ + step, seconds, detail);
}

void PlatformStatus::StepCached(int step) {
  std::lock_guard<std::mutex> lock(shared_.mu);
  inner_.StepCached(offset_ + step);
}

void PlatformStatus::StepFailed(int step, double seconds, const std::string& error) {
  std::lock_guard<std::mutex> lock(shared_.mu);
  inner_.StepFailed(offset_ + step, seconds, error);
}

void PlatformStatus::StepCanceled(int step, double seconds) {
  std::lock_guard<std::mutex> lock(shared_.mu);
  inner_.StepCanceled(offset_ + step, seconds);
}

void PlatformStatus::Info(const std::string& message) {
  std::lock_guard<std::mutex> lock(shared_.mu);
  inner_.Info(message);
}

void PlatformStatus::Warning(const std::string& message) {
  if (!warnings_) return;
  std::lock_guard<std::mutex> lock(shared_.mu);
  inner_.Warning(message);
}

void PlatformStatus::Finish() {}  // the whole build's printer finishes once, after every platform

void PlatformStatus::Failed(const std::string& message, int exit_code) {
  std::lock_guard<std::mutex> lock(shared_.mu);
  inner_.Failed(message, exit_code);
}

void PlatformStatus::Result(const nlohmann::ordered_json& result) {
  std::lock_guard<std::mutex> lock(shared_.mu);
  inner_.Result(result);
}

}  // namespace imgbuild::builder
