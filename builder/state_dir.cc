#include "builder/state_dir.h"

#include <unistd.h>

#include <cstdlib>

namespace imgbuild::builder {

std::string StateDir(const std::string& root_flag) {
  if (!root_flag.empty()) return root_flag;
  if (const char* env = std::getenv("IMGBUILD_ROOT"); env && *env) return env;
  if (::geteuid() == 0) return "/var/lib/imgbuild";
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg && *xdg) return std::string(xdg) + "/imgbuild";
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "/tmp") + "/.local/share/imgbuild";
}

}  // namespace imgbuild::builder
