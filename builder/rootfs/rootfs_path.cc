#include "builder/rootfs/rootfs_path.h"

#include <vector>

#include "layers/root_dir.h"

namespace imgbuild::builder {
namespace {

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : "/") + p;
  return out;
}

}  // namespace

std::vector<std::string> SplitPath(const std::string& path) { return layers::PathComponents(path); }

std::string CleanRelative(const std::string& path) {
  std::vector<std::string> out;
  for (const std::string& p : layers::PathComponents(path)) {
    if (p == ".") continue;
    if (p == "..") {
      if (!out.empty()) out.pop_back();
      continue;
    }
    out.push_back(p);
  }
  return Join(out);
}

std::string ResolveInRoot(const std::string& root, const std::string& path, bool follow_last) {
  return layers::RootDir(root).Resolve(path, follow_last);
}

}  // namespace imgbuild::builder
