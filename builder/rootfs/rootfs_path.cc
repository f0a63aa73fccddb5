#include "builder/rootfs/rootfs_path.h"

#include "layers/root_dir.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace imgbuild::builder {
namespace {

std::vector<std::string> SplitComponents(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    if (slash > start) parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : "/") + p;
  return out;
}

}  // namespace

std::vector<std::string> SplitPath(const std::string& path) { return SplitComponents(path); }

std::string CleanRelative(const std::string& path) {
  std::vector<std::string> out;
  for (const std::string& p : SplitComponents(path)) {
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
