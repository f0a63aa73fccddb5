#include "builder/rootfs/source_glob.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>

#include "builder/rootfs/rootfs_path.h"

namespace imgbuild::builder {
namespace {

using Keep = std::function<bool(const std::string&)>;

std::string Shown(const layers::RootDir& src, const std::string& rel) {
  return rel.empty() ? src.path() : src.path() + "/" + rel;
}

void Glob(const layers::RootDir& src, const std::vector<std::string>& parts, size_t i, const std::string& base,
          const Keep& keep, std::vector<std::string>& out) {
  if (i == parts.size()) {
    if (keep(base)) out.push_back(base);
    return;
  }
  if (parts[i] == "**") {
    // Any number of directories, none included (fsutil's patterns, as BuildKit matches them).
    Glob(src, parts, i + 1, base, keep, out);
    int fd = src.TryOpen(base, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return;
    layers::UniqueFd dir(fd);
    for (const std::string& n : layers::ListDirAt(dir.get(), Shown(src, base))) {
      struct stat st;
      if (::fstatat(dir.get(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
        Glob(src, parts, i, JoinRel(base, n), keep, out);
      }
    }
    return;
  }
  if (!HasGlob(parts[i])) {
    std::string next = JoinRel(base, parts[i]);
    struct stat st;
    if (src.Stat(next, &st)) Glob(src, parts, i + 1, next, keep, out);
    return;
  }
  int fd = src.TryOpen(base, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  layers::UniqueFd dir(fd);
  for (const std::string& n : layers::ListDirAt(dir.get(), Shown(src, base))) {
    if (::fnmatch(parts[i].c_str(), n.c_str(), 0) == 0) Glob(src, parts, i + 1, JoinRel(base, n), keep, out);
  }
}

}  // namespace

void GlobInRoot(const layers::RootDir& src, const std::vector<std::string>& parts, const Keep& keep,
                std::vector<std::string>& out) {
  Glob(src, parts, 0, "", keep, out);
}

}  // namespace imgbuild::builder
