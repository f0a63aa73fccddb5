// The extended attributes a layer tar keeps of a file: security.capability and user.*, sorted;
// never the overlay's own (trusted.overlay.*) nor any other namespace.
#pragma once

#include <archive_entry.h>

#include <string>
#include <utility>
#include <vector>

namespace imgbuild::layers {

bool KeepXattr(const std::string& name);
// The kept extended attributes of `path` (not followed if a symlink), sorted by name.
std::vector<std::pair<std::string, std::string>> KeptXattrs(const std::string& path);
// Adds to `entry` the kept extended attributes of `path` (not followed if a symlink).
void AddXattrs(archive_entry* entry, const std::string& path);

}  // namespace imgbuild::layers
