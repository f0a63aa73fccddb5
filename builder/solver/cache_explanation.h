// --explain-cache's picture: every step of the build, grouped by stage in build order, with what
// the cache said of it (hit; missed, and the field that changed; ran because an earlier step of
// its stage ran), drawn as a tree of plain characters that reads in a terminal and a CI log.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace imgbuild::builder {

class CacheExplanation {
 public:
  // From any stage thread.
  void Add(int stage, const std::string& stage_label, const std::string& step_label, const std::string& outcome);
  // The tree, stages in `order`; "" when nothing was added.
  std::string Tree(const std::vector<int>& order) const;

 private:
  mutable std::mutex mu_;
  std::map<int, std::pair<std::string, std::vector<std::pair<std::string, std::string>>>> stages_;
};

}  // namespace imgbuild::builder
