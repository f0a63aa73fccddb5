// One platform's build inside a multi-platform build: its steps are numbered after the earlier
// platforms' and labelled with the platform ("[linux/arm64 app 2/3] RUN make"), the header
// counts every platform's steps, and the calls of the platforms' builds, which run at once,
// reach the printer one at a time. Warnings of the second and later plans (the same build
// checks again) can be left out.
#pragma once

#include <mutex>
#include <string>

#include "builder/progress/progress.h"

namespace imgbuild::builder {

class PlatformStatus : public Progress {
 public:
  struct Shared {
    std::mutex mu;
    int planned = 0;  // the steps planned so far, all platforms
  };
  PlatformStatus(Progress& inner, Shared& shared, std::string platform, int first_step, bool warnings)
      : inner_(inner), shared_(shared), platform_(std::move(platform)), offset_(first_step), warnings_(warnings) {}

  void Planned(int steps) override;
  void StepStarted(int step, const std::string& label) override;
  void StepOutput(int step, std::string_view data) override;
  void StepDone(int step, double seconds, const std::string& detail) override;
  void StepCached(int step) override;
  void StepFailed(int step, double seconds, const std::string& error) override;
  void StepCanceled(int step, double seconds) override;
  void Info(const std::string& message) override;
  void Warning(const std::string& message) override;
  void Finish() override;
  void Failed(const std::string& message, int exit_code) override;
  void Result(const nlohmann::ordered_json& result) override;

  // The steps numbered before this platform's.
  void set_first_step(int offset) { offset_ = offset; }

 private:
  Progress& inner_;
  Shared& shared_;
  std::string platform_;
  int offset_;
  bool warnings_;
};

}  // namespace imgbuild::builder
