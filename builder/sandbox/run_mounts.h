// RUN --mount: turns a step's mount specs into sandbox mounts and holds what they need while the
// step runs: cache-mount directories (persistent under ROOT/cache-mounts, with their sharing
// locks), secrets (files in a tmpfs of the step's own, never on disk), SSH agent sockets, scratch
// overlays that make writable bind mounts throwaway. Released when destroyed.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "builder/sandbox/sandbox.h"
#include "builder/snapshot/snapshotter.h"
#include "frontend/mount_spec.h"
#include "layers/sys_error.h"
#include "layers/error.h"

namespace imgbuild::builder {

class RunMountError : public layers::Error {
 public:
  using layers::Error::Error;
};

// --secret id=ID,src=FILE | id=ID,env=VAR (one of the two).
struct SecretSource {
  std::string file;
  std::string env;
};

// --ssh ID=SOCKET|KEYFILE[,...]: agent sockets are shared as they are; key files are loaded into
// an ssh-agent started for the step.
using SshSources = std::map<std::string, std::vector<std::string>>;

struct RunMountContext {
  std::string cache_dir;  // ROOT/cache-mounts
  std::string scratch;    // the build's scratch space
  const std::map<std::string, SecretSource>* secrets = nullptr;
  const SshSources* ssh = nullptr;
  // The host directory `from` names ("" for the build context); valid while the step runs.
  std::function<std::string(const std::string& from)> source_root;
};

class RunMounts {
 public:
  // `workdir` resolves relative targets. Throws RunMountError (or SysError).
  RunMounts(const std::vector<frontend::MountSpec>& specs, const RunMountContext& ctx, const std::string& workdir);
  ~RunMounts();
  RunMounts(const RunMounts&) = delete;
  RunMounts& operator=(const RunMounts&) = delete;

  const std::vector<SandboxMount>& mounts() const { return mounts_; }
  // NAME=VALUE for secrets with env= and SSH_AUTH_SOCK.
  const std::vector<std::string>& env() const { return env_; }

  // Adds a read-only file with `content` at `target`, kept in memory (a tmpfs) while the step runs.
  void AddFile(const std::string& target, const std::string& content, mode_t mode, uid_t uid, gid_t gid);

 private:
  void AddBind(const frontend::MountSpec& m, const std::string& target);
  void AddCache(const frontend::MountSpec& m, const std::string& target);
  void AddSecret(const frontend::MountSpec& m);
  void AddSsh(const frontend::MountSpec& m, int index);
  void Release() noexcept;

  const RunMountContext& ctx_;
  std::vector<SandboxMount> mounts_;
  std::vector<std::string> env_;
  std::unique_ptr<MountGuard> files_;  // the tmpfs holding secrets and scripts
  int file_count_ = 0;
  std::vector<layers::UniqueFd> locks_;  // cache-mount sharing locks
  std::vector<std::unique_ptr<MountGuard>> overlays_;  // writable binds
  std::vector<pid_t> agents_;  // ssh-agents started for key files
};

}  // namespace imgbuild::builder
