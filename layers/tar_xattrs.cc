#include "layers/tar_xattrs.h"

#include <sys/xattr.h>

#include <algorithm>

namespace imgbuild::layers {

bool KeepXattr(const std::string& name) {
  return name == "security.capability" || name.rfind("user.", 0) == 0;
}

std::vector<std::pair<std::string, std::string>> KeptXattrs(const std::string& path) {
  std::vector<std::pair<std::string, std::string>> out;
  ssize_t len = ::llistxattr(path.c_str(), nullptr, 0);
  if (len <= 0) return out;
  std::string names(static_cast<size_t>(len), '\0');
  len = ::llistxattr(path.c_str(), names.data(), names.size());
  if (len <= 0) return out;
  std::vector<std::string> keep;
  for (size_t i = 0; i < static_cast<size_t>(len);) {
    std::string n(names.c_str() + i);
    i += n.size() + 1;
    if (KeepXattr(n)) keep.push_back(n);
  }
  std::sort(keep.begin(), keep.end());
  for (const std::string& n : keep) {
    ssize_t vlen = ::lgetxattr(path.c_str(), n.c_str(), nullptr, 0);
    if (vlen < 0) continue;
    std::string value(static_cast<size_t>(vlen), '\0');
    vlen = ::lgetxattr(path.c_str(), n.c_str(), value.data(), value.size());
    if (vlen < 0) continue;
    value.resize(static_cast<size_t>(vlen));
    out.emplace_back(n, std::move(value));
  }
  return out;
}

void AddXattrs(archive_entry* entry, const std::string& path) {
  for (const auto& [name, value] : KeptXattrs(path)) {
    archive_entry_xattr_add_entry(entry, name.c_str(), value.data(), value.size());
  }
}

}  // namespace imgbuild::layers
