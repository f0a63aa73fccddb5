// The build sandbox: runs one command in a mounted rootfs, isolated by new mount, PID, IPC and
// UTS namespaces (and a network namespace: only loopback for kNone, loopback and pasta's interface
// for kPrivate), seccomp (Docker's default profile) and no_new_privs, with /proc, a
// minimal /dev, a read-only /sys, the given bind/tmpfs mounts, pivot_root, Docker's default
// capabilities (all of them when privileged), the given user, groups, environment and working
// directory. No external runtime: the child reports setup failures to the parent over a
// close-on-exec pipe, and the parent raises a SysError naming the system call and path. For a
// foreign platform the command gets a user namespace of its own (binfmt_register below): there
// mknod, binding ports below 1024 and raw sockets are refused, as in a rootless container.
//
// The sandbox's first process is the namespace's init: it starts the command, reaps whatever is
// orphaned, and when the command ends it exits, which makes the kernel kill every process left
// in the namespace. Mount points the rootfs lacks are created for the run and removed after it
// (MountStubs), so they never reach a layer.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace imgbuild::builder {

struct SandboxMount {
  enum class Kind { kBind, kTmpfs };
  Kind kind = Kind::kBind;
  std::string source;  // kBind: a host path (directory, file or socket)
  std::string target;  // absolute path inside the rootfs
  bool read_only = false;
  int64_t tmpfs_size = 0;  // kTmpfs: bytes, 0 for the kernel's default
  uint32_t tmpfs_mode = 01777;
};

// A resource limit of the command (`--ulimit nofile=1024:2048`): setrlimit(resource, soft, hard).
struct SandboxRlimit {
  int resource = 0;
  uint64_t soft = 0, hard = 0;  // RLIM_INFINITY for unlimited
};

// kPrivate: the build's own network namespace, outbound access through pasta (UserNetwork).
enum class SandboxNetwork { kHost, kNone, kPrivate };

struct SandboxSpec {
  std::string rootfs;             // a mounted root filesystem; the command's changes land there
  std::vector<std::string> argv;  // argv[0] without '/' is looked up in the environment's PATH
  std::vector<std::string> env;   // NAME=VALUE
  std::string cwd = "/";          // must exist in the rootfs
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::string hostname = "buildkitsandbox";
  SandboxNetwork network = SandboxNetwork::kHost;
  bool privileged = false;  // RUN --security=insecure: every capability, /sys writable
  // Host files bound onto /etc/hosts, /etc/resolv.conf and /etc/hostname (empty: not bound).
  std::string hosts_file, resolv_file, hostname_file;
  std::vector<SandboxMount> mounts;
  int netns_fd = -1;  // kPrivate: the network namespace the step joins (a UserNetwork's)
  int64_t shm_size = 64 << 20;         // bytes of the tmpfs on /dev/shm (docker's default: 64 MiB)
  std::vector<SandboxRlimit> rlimits;  // set before the command starts
  // Emulation (builder/sandbox/emulation.h): when set, the command runs in a user namespace of
  // its own (identity-mapped, with a mount namespace of its own) whose binfmt_misc instance
  // has `binfmt_register` registered, `%s` standing for `binfmt_interpreter` (opened here).
  std::string binfmt_register, binfmt_interpreter;
};

struct SandboxResult {
  int exit_code = 0;   // the command's exit status when it exited
  int signal = 0;      // the signal that killed it, or 0
  bool cancelled = false;  // stopped because `cancelled` said so
};

// Runs the command; its standard output and error (together, stdin is /dev/null) go to
// `on_output` as they come. `cancelled` is polled a few times a second: when it turns true
// everything in the sandbox is killed. Throws SysError when the sandbox cannot be set up.
SandboxResult RunSandbox(const SandboxSpec& spec, const std::function<void(std::string_view)>& on_output,
                         const std::function<bool()>& cancelled);

// Docker's default capability set, by name (CAP_CHOWN, ...), for documentation and tests.
std::vector<std::string> DefaultCapabilityNames();

}  // namespace imgbuild::builder
