#include "cache/explain.h"

#include <algorithm>
#include <map>

namespace imgbuild::cache {
namespace {

std::string Short(const std::string& v) { return v.size() <= 48 ? v : v.substr(0, 45) + "..."; }

}  // namespace

std::string ExplainFields(const Fields& now_fields, const Fields& now_files, const Fields& before_fields,
                          const Fields& before_files) {
  std::map<std::string, std::string> before(before_fields.begin(), before_fields.end());
  std::map<std::string, std::string> after(now_fields.begin(), now_fields.end());
  std::vector<std::string> reasons;
  for (const auto& [name, value] : after) {
    auto it = before.find(name);
    if (it == before.end()) {
      reasons.push_back(name + " added (" + Short(value) + ")");
    } else if (it->second != value) {
      if (name == "content") {
        std::map<std::string, std::string> a(before_files.begin(), before_files.end()), b(now_files.begin(), now_files.end());
        std::vector<std::string> files;
        for (const auto& [path, d] : b) {
          auto old = a.find(path);
          if (old == a.end()) files.push_back(path + " added");
          else if (old->second != d) files.push_back("content of " + path + " changed");
        }
        for (const auto& [path, d] : a) {
          if (!b.count(path)) files.push_back(path + " removed");
        }
        if (files.empty()) files.push_back("content changed");
        size_t shown = std::min<size_t>(files.size(), 3);
        for (size_t i = 0; i < shown; ++i) reasons.push_back(files[i]);
        if (files.size() > shown) reasons.push_back("and " + std::to_string(files.size() - shown) + " more files");
      } else {
        reasons.push_back(name + " changed " + Short(it->second) + " -> " + Short(value));
      }
    }
  }
  for (const auto& [name, value] : before) {
    if (!after.count(name)) reasons.push_back(name + " removed (was " + Short(value) + ")");
  }
  std::string out;
  for (const std::string& r : reasons) out += (out.empty() ? "" : "; ") + r;
  return out;
}

}  // namespace imgbuild::cache
