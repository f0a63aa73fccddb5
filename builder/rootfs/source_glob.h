// Source patterns of COPY/ADD expanded inside the source root, as BuildKit matches them (fsutil):
// each component an fnmatch pattern, `**` any number of directories (none included).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "layers/root_dir.h"

namespace imgbuild::builder {

// Appends to `out` the root-relative paths inside `src` that match the pattern `parts` (split on
// '/') and that `keep` accepts (a .dockerignore'd match is not kept), in directory order.
void GlobInRoot(const layers::RootDir& src, const std::vector<std::string>& parts,
                const std::function<bool(const std::string&)>& keep, std::vector<std::string>& out);

}  // namespace imgbuild::builder
