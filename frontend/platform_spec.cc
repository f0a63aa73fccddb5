#include "frontend/platform_spec.h"

#include <sys/utsname.h>

#include <set>
#include <stdexcept>
#include <vector>

#include "frontend/words.h"

namespace imgbuild::frontend {

std::string PlatformSpec::ToString() const {
  std::string s = os + "/" + arch;
  if (!variant.empty()) s += "/" + variant;
  return s;
}

namespace {

// The OCI image spec's platform table: Go's GOOS and GOARCH values.
const std::set<std::string> kOs = {"aix",   "android", "darwin",  "dragonfly", "freebsd", "illumos", "ios", "js",
                                   "linux", "netbsd",  "openbsd", "plan9",     "solaris", "wasip1",  "windows"};
const std::set<std::string> kArch = {"386",    "amd64",    "arm",   "arm64",   "loong64", "mips",  "mips64",
                                     "mips64le", "mipsle", "ppc64", "ppc64le", "riscv64", "s390x", "wasm"};

bool KnownVariant(const std::string& arch, const std::string& v) {
  if (v.empty()) return true;
  if (arch == "arm") return v == "v5" || v == "v6" || v == "v7" || v == "v8";
  if (arch == "amd64") return v == "v1" || v == "v2" || v == "v3" || v == "v4";
  if (arch == "arm64") {
    // v8, v8.0 ... v8.9, v9, v9.0 ... v9.5
    if (v == "v8" || v == "v9") return true;
    return v.size() == 4 && (v.rfind("v8.", 0) == 0 || v.rfind("v9.", 0) == 0) && v[3] >= '0' && v[3] <= '9';
  }
  if (arch == "riscv64") return v == "rva20u64" || v == "rva22u64" || v == "rva23u64";
  return false;
}

std::string Known(const std::set<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

PlatformSpec PlatformSpec::Parse(const std::string& text) {
  if (text.find(',') != std::string::npos)
    throw std::invalid_argument("\"" + text + "\" names several platforms where one is meant (a list is for "
                                "build --platform and pull --platform)");
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
  if (spec.arch == "armhf") spec = {spec.os, "arm", spec.variant.empty() ? "v7" : spec.variant};
  if (spec.arch == "armel") spec = {spec.os, "arm", spec.variant.empty() ? "v6" : spec.variant};
  if (spec.arch == "arm" && spec.variant.empty()) spec.variant = "v7";
  if (spec.arch == "amd64" && spec.variant == "v1") spec.variant.clear();
  if (!kOs.count(spec.os))
    throw std::invalid_argument("invalid platform \"" + text + "\": unknown operating system \"" + spec.os + "\" (known: " + Known(kOs) + ")");
  if (!kArch.count(spec.arch))
    throw std::invalid_argument("invalid platform \"" + text + "\": unknown architecture \"" + spec.arch + "\" (known: " + Known(kArch) + ")");
  if (!KnownVariant(spec.arch, spec.variant))
    throw std::invalid_argument("invalid platform \"" + text + "\": unknown variant \"" + spec.variant + "\" of " + spec.arch);
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
