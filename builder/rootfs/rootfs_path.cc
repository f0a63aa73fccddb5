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

std::string Parent(const std::string& rel) {
  size_t slash = rel.find_last_of('/');
  return slash == std::string::npos ? "" : rel.substr(0, slash);
}

std::string Base(const std::string& rel) {
  size_t slash = rel.find_last_of('/');
  return slash == std::string::npos ? rel : rel.substr(slash + 1);
}

std::string JoinRel(const std::string& a, const std::string& b) {
  if (a.empty()) return b;
  if (b.empty()) return a;
  return a + "/" + b;
}

bool HasGlob(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

std::string KeptAfterPivot(const std::string& pattern, const std::string& match) {
  std::string p = pattern;
  while (p.rfind("./", 0) == 0 || p.rfind("/", 0) == 0) p.erase(0, p[0] == '/' ? 1 : 2);
  size_t pivot = p.find("/./");
  if (pivot == std::string::npos) return match;
  const size_t drop = SplitPath(CleanRelative(p.substr(0, pivot))).size();
  std::vector<std::string> comps = SplitPath(match);
  if (drop == 0 || comps.size() <= drop) return match;
  std::string kept;
  for (size_t k = drop; k < comps.size(); ++k) kept = JoinRel(kept, comps[k]);
  return kept;
}

bool NamesDirectory(const std::string& dest) {
  return dest.empty() || dest.back() == '/' || dest == "." ||
         (dest.size() >= 2 && dest.compare(dest.size() - 2, 2, "/.") == 0);
}

}  // namespace imgbuild::builder
