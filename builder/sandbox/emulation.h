// How RUN executes binaries made for another platform than the host's, without touching the
// host: Debian's qemu-user-static interpreters (their /usr/lib/binfmt.d/qemu-*.conf lines) are
// registered, with the fix-binary flag, in a binfmt_misc instance of the sandbox's own user
// namespace (Linux >= 6.7 gives each user namespace one). On an older kernel the host's own
// registration is used when it has one; otherwise the step fails with what to install.
#pragma once

#include <stdexcept>
#include <string>

#include "layers/descriptor.h"

namespace imgbuild::builder {

struct Emulation {
  enum class Kind { kNative, kSandboxBinfmt, kHostBinfmt };
  Kind kind = Kind::kNative;
  std::string handler;      // "qemu-aarch64": the binfmt_misc entry's name
  std::string interpreter;  // host path of the emulator (kSandboxBinfmt)
  // kSandboxBinfmt: the registration line with `%s` where the interpreter's path goes (the
  // sandbox names an open descriptor: /proc/self/fd/N) and flags P and F.
  std::string register_line;
};

// A platform this host cannot run, and why (what to install).
class EmulationError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Where the emulator registrations are read from (Debian's qemu-user-static installs them) and
// where the host's binfmt_misc is; tests point them elsewhere.
struct EmulationPaths {
  std::string binfmt_d = "/usr/lib/binfmt.d";
  std::string host_binfmt = "/proc/sys/fs/binfmt_misc";
  std::string kernel_release;  // empty: uname's
};

// qemu's name for an OCI architecture (arm64 -> aarch64, ppc64le, s390x, riscv64, arm, 386 ->
// i386, ...); empty for one qemu has no user-mode emulator for.
std::string QemuArchitecture(const std::string& architecture);
// Whether the host runs binaries of `p` itself (its own architecture; 386 on amd64).
bool RunsNatively(const layers::Platform& p);
// How RUN runs binaries of `p` here. Throws EmulationError naming the platform and the fix.
Emulation EmulationFor(const layers::Platform& p, const EmulationPaths& paths = {});

}  // namespace imgbuild::builder
