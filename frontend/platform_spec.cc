#include "frontend/platform_spec.h"

#include <sys/utsname.h>

#include <stdexcept>
#include <vector>

#include "frontend/words.h"

namespace imgbuild::frontend {

std::string PlatformSpec::ToString() const {
  std::string s = os + "/" + arch;
  if (!variant.empty()) s += "/" + variant;
  return s;
}

PlatformSpec PlatformSpec::Parse(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t slash = text.find('/', start);
    parts.push_back(text.substr(start, slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  for (std::string& p : parts) {
    p = AsciiLower(p);
    if (p.empty())
      throw std::invalid_argument("invalid platform \"" + text + "\": empty component");
  }
  PlatformSpec spec;
  if (parts.size() == 1) {
    spec.arch = parts[0];
  } else if (parts.size() <= 3) {
    spec.os = parts[0];
    spec.arch = parts[1];
    if (parts.size() == 3) spec.variant = parts[2];
  } else {
    throw std::invalid_argument("invalid platform \"" + text + "\": expected OS/ARCH[/VARIANT]");
  }
  // The same normalisation containerd applies.
  if (spec.arch == "x86_64" || spec.arch == "x86-64") spec.arch = "amd64";
  if (spec.arch == "aarch64") spec.arch = "arm64";
  if (spec.arch == "arm64" && spec.variant == "v8") spec.variant.clear();
  if (spec.arch == "i386" || spec.arch == "i686") spec.arch = "386";
  return spec;
}

PlatformSpec PlatformSpec::Host() {
  struct utsname u;
  uname(&u);
  PlatformSpec p = Parse(u.machine);
  p.os = "linux";
  return p;
}

}  // namespace imgbuild::frontend
