#include "builder/solver/cache_explanation.h"

namespace imgbuild::builder {

void CacheExplanation::Add(int stage, const std::string& stage_label, const std::string& step_label,
                           const std::string& outcome) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& entry = stages_[stage];
  entry.first = stage_label;
  entry.second.emplace_back(step_label, outcome);
}

std::string CacheExplanation::Tree(const std::vector<int>& order) const {
  std::lock_guard<std::mutex> lock(mu_);
  if (stages_.empty()) return "";
  std::string out = "cache:";
  for (int s : order) {
    auto it = stages_.find(s);
    if (it == stages_.end()) continue;
    out += "\n" + it->second.first;
    const auto& steps = it->second.second;
    for (size_t i = 0; i < steps.size(); ++i) {
      bool last = i + 1 == steps.size();
      out += "\n" + std::string(last ? "└─ " : "├─ ") + steps[i].first;
      // The outcome on a line of its own under the step, so long labels and reasons both fit.
      out += "\n" + std::string(last ? "     " : "│    ") + steps[i].second;
    }
  }
  return out;
}

}  // namespace imgbuild::builder
