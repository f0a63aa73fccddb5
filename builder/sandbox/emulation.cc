#include "builder/sandbox/emulation.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>

#include "layers/sys_error.h"

namespace imgbuild::builder {
namespace {

std::string Text(const layers::Platform& p) {
  return p.os + "/" + p.architecture + (p.variant.empty() ? "" : "/" + p.variant);
}

// Whether the kernel gives each user namespace a binfmt_misc of its own (6.7 and later).
bool PerNamespaceBinfmt(const std::string& release) {
  int major = 0, minor = 0;
  if (std::sscanf(release.c_str(), "%d.%d", &major, &minor) != 2) return false;
  return major > 6 || (major == 6 && minor >= 7);
}

// The registration line of Debian's binfmt.d file: ":NAME:TYPE:OFFSET:MAGIC:MASK:INTERPRETER:FLAGS".
std::vector<std::string> Fields(const std::string& line) {
  std::vector<std::string> out;
  if (line.empty()) return out;
  const char sep = line[0];
  size_t start = 1;
  for (;;) {
    size_t next = line.find(sep, start);
    out.push_back(line.substr(start, next == std::string::npos ? std::string::npos : next - start));
    if (next == std::string::npos) break;
    start = next + 1;
  }
  return out;
}

}  // namespace

std::string QemuArchitecture(const std::string& architecture) {
  static const std::map<std::string, std::string> names = {
      {"amd64", "x86_64"},   {"386", "i386"},       {"arm64", "aarch64"},    {"arm", "arm"},
      {"ppc64le", "ppc64le"}, {"ppc64", "ppc64"},   {"s390x", "s390x"},      {"riscv64", "riscv64"},
      {"mips64le", "mips64el"}, {"mips64", "mips64"}, {"mipsle", "mipsel"}, {"mips", "mips"},
      {"loong64", "loongarch64"}};
  auto it = names.find(architecture);
  return it == names.end() ? "" : it->second;
}

bool RunsNatively(const layers::Platform& p) {
  layers::Platform host = layers::Platform::Host();
  if (p.architecture.empty() || p.architecture == host.architecture) return true;
  return host.architecture == "amd64" && p.architecture == "386";
}

Emulation EmulationFor(const layers::Platform& p, const EmulationPaths& paths) {
  Emulation e;
  if (RunsNatively(p)) return e;
  std::string qemu = QemuArchitecture(p.architecture);
  if (qemu.empty()) {
    throw EmulationError("RUN for " + Text(p) + ": no emulator exists for this architecture on a " +
                         layers::Platform::Host().architecture + " host");
  }
  e.handler = "qemu-" + qemu;
  std::string release = paths.kernel_release;
  if (release.empty()) {
    struct utsname u;
    ::uname(&u);
    release = u.release;
  }
  const std::string conf = paths.binfmt_d + "/" + e.handler + ".conf";
  std::ifstream in(conf);
  std::string line;
  if (in && std::getline(in, line) && PerNamespaceBinfmt(release)) {
    std::vector<std::string> f = Fields(line);
    // name, type, offset, magic, mask, interpreter, flags
    if (f.size() != 7 || f[0] != e.handler || (f[1] != "M" && f[1] != "E")) {
      throw EmulationError("RUN for " + Text(p) + ": " + conf + " is not a binfmt_misc registration line");
    }
    e.interpreter = f[5];
    if (::access(e.interpreter.c_str(), X_OK) != 0) {
      throw EmulationError("RUN for " + Text(p) + ": " + conf + " names " + e.interpreter +
                           ", which is missing (reinstall qemu-user-static)");
    }
    // P: the program keeps its argv[0]; F: the emulator is opened now, so it runs in any root.
    std::string sep(1, line[0]);
    e.register_line = sep + f[0] + sep + f[1] + sep + f[2] + sep + f[3] + sep + f[4] + sep + "%s" + sep + "PF";
    e.kind = Emulation::Kind::kSandboxBinfmt;
    return e;
  }
  // An older kernel (or no Debian registration file): the host's handler, if it has one.
  try {
    std::string status = layers::ReadFile(paths.host_binfmt + "/" + e.handler);
    if (status.rfind("enabled", 0) == 0 && status.find("flags:") != std::string::npos &&
        status.substr(status.find("flags:")).find('F') != std::string::npos) {
      e.kind = Emulation::Kind::kHostBinfmt;
      return e;
    }
  } catch (const std::exception&) {
  }
  if (!PerNamespaceBinfmt(release)) {
    throw EmulationError("RUN for " + Text(p) + " needs an emulator: Linux " + release +
                         " is older than 6.7 (no binfmt_misc per user namespace) and the host has no enabled " +
                         e.handler + " handler with the F flag; register one on the host (apt-get install "
                         "qemu-user-static binfmt-support) or build on Linux 6.7 or later");
  }
  throw EmulationError("RUN for " + Text(p) + " needs an emulator: install qemu-user-static (apt-get install "
                       "qemu-user-static), which provides " + conf);
}

}  // namespace imgbuild::builder
