// One RUN step inside a mounted snapshot: resolves USER through the rootfs, builds the command
// and its environment, sets up the --mount list, runs the sandbox, and keeps the step's full log
// (and the tail of it for errors). The caller owns the snapshot: it commits it on success and
// drops it on failure.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "builder/sandbox/run_mounts.h"
#include "builder/sandbox/sandbox.h"
#include "frontend/plan.h"
#include "layers/image.h"

namespace imgbuild::builder {

// What the build sets for every RUN's sandbox (build --add-host, --shm-size, --ulimit).
struct RunSandboxOptions {
  std::vector<std::pair<std::string, std::string>> extra_hosts;  // (name, address) lines of /etc/hosts
  int64_t shm_size = 64 << 20;
  std::vector<std::pair<std::string, SandboxRlimit>> ulimits;  // (the flag's text, the limit)
  // The options as cache-key text: "" when all are the defaults, so keys stay as they were.
  std::string KeyText() const;
};

struct RunStepInput {
  const frontend::PlannedStep* step = nullptr;
  const frontend::RunStep* run = nullptr;
  const layers::ImageConfig* config = nullptr;  // the stage's image: ENV, USER
  std::string rootfs;                           // the mounted, writable snapshot
  RunMountContext mounts;
  SandboxNetwork network = SandboxNetwork::kHost;
  bool forward_dns = false;  // kPrivate: resolv_file names kForwardedDnsAddress
  bool privileged = false;
  const RunSandboxOptions* options = nullptr;  // null: the defaults
  std::string hosts_file, resolv_file, hostname_file;
  std::string log_path;  // the step's full output is written here
  std::function<void(std::string_view)> on_output;
  std::function<bool()> cancelled;
};

struct RunStepResult {
  std::vector<std::string> argv;
  SandboxResult status;
  std::string tail;  // the last lines of output (at most ~40 lines / 8 KiB)
};

// Throws RunMountError, OwnerError, SysError or EmulationError (a platform this host cannot run)
// for what stops the command from starting.
// `netns_fd`: for SandboxNetwork::kPrivate, the build's network namespace (UserNetwork::ns_fd).
RunStepResult ExecuteRun(const RunStepInput& in, int netns_fd = -1);

// The generated /etc files of a build's sandboxes, written once into `dir`.
struct SandboxEtc {
  std::string hosts, resolv, hostname;
  std::string resolv_private;  // for steps with a network of their own (PrivateResolvConf)
  bool forward_dns = false;    // resolv_private names kForwardedDnsAddress
};
SandboxEtc WriteSandboxEtc(const std::string& dir, const std::string& hostname,
                           const std::vector<std::pair<std::string, std::string>>& extra_hosts = {});

}  // namespace imgbuild::builder
