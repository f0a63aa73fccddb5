// The stages a build has finished, shared by the threads that build stages: a later stage reads
// an earlier one's state (its base, COPY --from, RUN --mount from=) once it is done.
#pragma once

#include <map>
#include <mutex>

#include "builder/solver/stage_state.h"

namespace imgbuild::builder {

class StageResults {
 public:
  StageImage Done(int stage) const {
    std::lock_guard<std::mutex> lock(mu_);
    return done_.at(stage);
  }
  bool IsDone(int stage) const {
    std::lock_guard<std::mutex> lock(mu_);
    return done_.count(stage) != 0;
  }
  void Finish(int stage, StageImage img) {
    std::lock_guard<std::mutex> lock(mu_);
    done_.emplace(stage, std::move(img));
  }

 private:
  mutable std::mutex mu_;
  std::map<int, StageImage> done_;
};

}  // namespace imgbuild::builder
