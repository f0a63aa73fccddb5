// Build progress: the one interface through which the builder reports what it does. Library code
// never prints; the CLI picks a printer.
#pragma once

#include <string>

namespace imgbuild::builder {

class Status {
 public:
  virtual ~Status() = default;
  // `label` reads like "[app 3/7] COPY app/ ./".
  virtual void StepStarted(int step, const std::string& label) = 0;
  virtual void StepDone(int step, double seconds, const std::string& detail) = 0;
  virtual void Info(const std::string& message) = 0;
};

class NullStatus : public Status {
 public:
  void StepStarted(int, const std::string&) override {}
  void StepDone(int, double, const std::string&) override {}
  void Info(const std::string&) override {}
};

}  // namespace imgbuild::builder
