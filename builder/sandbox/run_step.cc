#include "builder/sandbox/run_step.h"

#include "builder/sandbox/emulation.h"
#include "builder/sandbox/user_network.h"

#include "builder/sandbox/executor.h"

#include <fcntl.h>

#include <memory>
#include <mutex>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/rootfs/file_owner.h"
#include "builder/rootfs/rootfs_path.h"
#include "layers/root_dir.h"
#include "builder/sandbox/run_command.h"
#include "layers/sys_error.h"

namespace imgbuild::builder {
namespace {

constexpr size_t kTailBytes = 8192;
constexpr int kTailLines = 40;

std::string TailLines(const std::string& text) {
  std::string t = text;
  if (t.size() > kTailBytes) t = t.substr(t.size() - kTailBytes);
  int lines = 0;
  size_t pos = t.size();
  if (pos > 0 && t[pos - 1] == '\n') --pos;
  while (pos > 0) {
    size_t nl = t.find_last_of('\n', pos - 1);
    if (nl == std::string::npos) break;
    if (++lines == kTailLines) return t.substr(nl + 1);
    pos = nl;
  }
  return t;
}

// The working directory is created when missing (runc does), as a change of the step.
void EnsureWorkdir(const std::string& rootfs, const std::string& workdir) {
  layers::RootDir root(rootfs);
  std::string rel = root.Resolve(workdir);
  std::string cur;
  for (const std::string& part : SplitPath(rel)) {
    layers::UniqueFd dir = root.Open(cur, O_PATH | O_DIRECTORY);
    cur += (cur.empty() ? "" : "/") + part;
    if (::mkdirat(dir.get(), part.c_str(), 0755) != 0 && errno != EEXIST) throw layers::SysError("mkdir", "/" + cur);
  }
}

}  // namespace

RunStepResult ExecuteRun(const RunStepInput& in, int netns_fd) {
  const layers::ContainerConfig& cfg = in.config->config;
  ExecUser user = ResolveExecUser(cfg.user.empty() ? "0" : cfg.user, in.rootfs);
  RunCommand cmd = MakeRunCommand(*in.run, in.step->shell);
  RunMounts mounts(in.run->mounts, in.mounts, in.step->workdir);
  for (const auto& [name, content] : cmd.scripts) mounts.AddFile("/dev/pipes/" + name, content, 0755, 0, 0);
  SandboxSpec spec;
  spec.rootfs = in.rootfs;
  spec.argv = cmd.argv;
  spec.env = MakeRunEnv(cfg.env, in.step->build_args ? *in.step->build_args : std::vector<std::string>{}, mounts.env(),
                        user.home);
  spec.cwd = in.step->workdir.empty() ? "/" : in.step->workdir;
  EnsureWorkdir(in.rootfs, spec.cwd);
  spec.uid = user.uid;
  spec.gid = user.gid;
  spec.groups = user.groups;
  spec.network = in.network;
  spec.netns_fd = netns_fd;
  spec.privileged = in.privileged;
  spec.hosts_file = in.hosts_file;
  spec.resolv_file = in.resolv_file;
  spec.hostname_file = in.hostname_file;
  spec.mounts = mounts.mounts();
  if (in.options) {
    spec.shm_size = in.options->shm_size;
    for (const auto& [text, limit] : in.options->ulimits) spec.rlimits.push_back(limit);
  }
  // Binaries of another platform run under its emulator (throws EmulationError when none can).
  Emulation emulation = EmulationFor(in.config->platform);
  if (emulation.kind == Emulation::Kind::kSandboxBinfmt) {
    spec.binfmt_register = emulation.register_line;
    spec.binfmt_interpreter = emulation.interpreter;
  }
  layers::UniqueFd log(::open(in.log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!log) throw layers::SysError("open", in.log_path);
  RunStepResult result;
  result.argv = cmd.argv;
  std::string recent;
  try {
    result.status = RunSandbox(
        spec,
        [&](std::string_view data) {
          layers::WriteAll(log.get(), data.data(), data.size(), in.log_path);
          recent.append(data);
          if (recent.size() > 2 * kTailBytes) recent.erase(0, recent.size() - kTailBytes);
          if (in.on_output) in.on_output(data);
        },
        in.cancelled);
  } catch (const layers::SysError& e) {
    if (e.error() != ENOEXEC) throw;
    // "exec format error" never reaches the user unexplained.
    const layers::Platform& p = in.config->platform;
    throw EmulationError(std::string(e.what()) + " (not a program this host can run: the image says it is for " +
                         p.os + "/" + (p.architecture.empty() ? "?" : p.architecture) + (p.variant.empty() ? "" : "/" + p.variant) +
                         ", the host is " + layers::Platform::Host().architecture +
                         "; a binary made for another platform than its image says needs the image's platform fixed)");
  }
  result.tail = TailLines(recent);
  return result;
}

std::string RunSandboxOptions::KeyText() const {
  std::string text;
  for (const auto& [name, address] : extra_hosts) text += "host " + name + "=" + address + "\n";
  if (shm_size != 64 << 20) text += "shm " + std::to_string(shm_size) + "\n";
  for (const auto& [flag, limit] : ulimits) text += "ulimit " + flag + "\n";
  return text;
}

SandboxEtc WriteSandboxEtc(const std::string& dir, const std::string& hostname,
                           const std::vector<std::pair<std::string, std::string>>& extra_hosts) {
  layers::MakeDirs(dir);
  SandboxEtc etc;
  etc.hosts = dir + "/hosts";
  etc.resolv = dir + "/resolv.conf";
  etc.hostname = dir + "/hostname";
  std::string hosts = "127.0.0.1\tlocalhost " + hostname + "\n::1\tlocalhost ip6-localhost ip6-loopback\n";
  for (const auto& [name, address] : extra_hosts) hosts += address + "\t" + name + "\n";
  layers::WriteFileAtomic(etc.hosts, hosts);
  std::string resolv;
  try {
    resolv = layers::ReadFile("/etc/resolv.conf");
  } catch (const std::exception&) {
    resolv = "";
  }
  layers::WriteFileAtomic(etc.resolv, resolv);
  etc.resolv_private = dir + "/resolv-private.conf";
  layers::WriteFileAtomic(etc.resolv_private, PrivateResolvConf(resolv, &etc.forward_dns));
  layers::WriteFileAtomic(etc.hostname, hostname + "\n");
  return etc;
}

namespace {

// One per build: its steps on the default network share the build's network, made by the first
// of them and stopped with the executor (the build).
class SandboxExecutor : public Executor {
 public:
  RunStepResult Run(const RunStepInput& in) override {
    int netns = -1;
    if (in.network == SandboxNetwork::kPrivate) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!net_) {
        std::string dir = in.mounts.scratch + "/net-build";
        layers::MakeDirs(dir, 0700);
        net_ = std::make_unique<UserNetwork>(dir, in.forward_dns);
      }
      netns = net_->ns_fd();
    }
    return ExecuteRun(in, netns);
  }

 private:
  std::mutex mu_;
  std::unique_ptr<UserNetwork> net_;
};

}  // namespace

std::unique_ptr<Executor> NewSandboxExecutor() { return std::make_unique<SandboxExecutor>(); }

}  // namespace imgbuild::builder
