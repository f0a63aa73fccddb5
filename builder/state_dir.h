// Where imgbuild keeps its state: --root, else IMGBUILD_ROOT, else /var/lib/imgbuild as root,
// else $XDG_DATA_HOME/imgbuild (~/.local/share/imgbuild).
#pragma once

#include <string>

namespace imgbuild::builder {

std::string StateDir(const std::string& root_flag);

}  // namespace imgbuild::builder
