#include "builder/rootfs/rootfs_path.h"

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
  std::vector<std::string> pending = SplitComponents(path);
  std::reverse(pending.begin(), pending.end());  // a stack: next component at the back
  std::vector<std::string> resolved;
  int links = 0;
  while (!pending.empty()) {
    std::string part = pending.back();
    pending.pop_back();
    if (part == ".") continue;
    if (part == "..") {
      if (!resolved.empty()) resolved.pop_back();
      continue;
    }
    resolved.push_back(part);
    if (pending.empty() && !follow_last) break;
    std::string full = root + "/" + Join(resolved);
    struct stat st;
    if (::lstat(full.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) continue;
    if (++links > 255) throw std::runtime_error("too many levels of symbolic links resolving " + path);
    std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
    ssize_t n = ::readlink(full.c_str(), target.data(), target.size());
    if (n < 0) continue;
    target.resize(static_cast<size_t>(n));
    resolved.pop_back();
    if (!target.empty() && target[0] == '/') resolved.clear();
    std::vector<std::string> t = SplitComponents(target);
    for (auto it = t.rbegin(); it != t.rend(); ++it) pending.push_back(*it);
  }
  return Join(resolved);
}

}  // namespace imgbuild::builder
