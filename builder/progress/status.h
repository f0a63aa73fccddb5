// Build progress: the one interface through which the builder reports what it does. Library code
// never prints; the CLI picks a printer (builder/progress.h). Calls come from several stage
// threads, serialized by the builder.
#pragma once

#include <string>
#include <string_view>

namespace imgbuild::builder {

class Status {
 public:
  virtual ~Status() = default;
  // How many steps the build will show (the plan's steps of the stages the target needs), told
  // once before the first step; printers that count steps use it.
  virtual void Planned(int steps) { (void)steps; }
  // `label` reads like "[app 3/7] COPY app/ ./".
  virtual void StepStarted(int step, const std::string& label) = 0;
  // Output of a running step (RUN), in the pieces it came in.
  virtual void StepOutput(int step, std::string_view data) = 0;
  virtual void StepDone(int step, double seconds, const std::string& detail) = 0;
  // The step's result came from the build cache: nothing ran.
  virtual void StepCached(int step) = 0;
  virtual void StepFailed(int step, double seconds, const std::string& error) = 0;
  // The step was stopped because the build was cancelled (Ctrl-C, SIGTERM): not its own failure.
  virtual void StepCanceled(int step, double seconds) = 0;
  virtual void Info(const std::string& message) = 0;
  // Something the user should know that does not stop the build.
  virtual void Warning(const std::string& message) = 0;
};

class NullStatus : public Status {
 public:
  void StepStarted(int, const std::string&) override {}
  void StepOutput(int, std::string_view) override {}
  void StepDone(int, double, const std::string&) override {}
  void StepCached(int) override {}
  void StepFailed(int, double, const std::string&) override {}
  void StepCanceled(int, double) override {}
  void Info(const std::string&) override {}
  void Warning(const std::string&) override {}
};

}  // namespace imgbuild::builder
