// A Status that keeps what the builder reported, for tests to read.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "builder/progress/status.h"

namespace imgbuild::testing {

class RecordingStatus : public builder::Status {
 public:
  void StepStarted(int, const std::string& label) override { Add("start " + label); }
  void StepOutput(int, std::string_view data) override { Add("output " + std::string(data)); }
  void StepDone(int, double, const std::string& detail) override { Add("done " + detail); }
  void StepCached(int) override { Add("cached"); }
  void StepFailed(int, double, const std::string& error) override { Add("failed " + error); }
  void StepCanceled(int, double) override { Add("canceled"); }
  void Info(const std::string& message) override { Add("info " + message); }
  void Warning(const std::string& message) override { Add("warning " + message); }

  std::vector<std::string> events() const {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  size_t Count(const std::string& prefix) const {
    size_t n = 0;
    for (const std::string& e : events()) n += e.rfind(prefix, 0) == 0;
    return n;
  }

 private:
  void Add(std::string e) {
    std::lock_guard<std::mutex> lock(mu_);
    events_.push_back(std::move(e));
  }
  mutable std::mutex mu_;
  std::vector<std::string> events_;
};

}  // namespace imgbuild::testing
