#include "builder/sandbox/run_mounts.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "builder/rootfs/copier.h"
#include "builder/rootfs/rootfs_path.h"
#include "layers/digest.h"

extern char** environ;

namespace imgbuild::builder {
namespace {

namespace fs = std::filesystem;
using frontend::MountSpec;
using frontend::MountType;
using layers::SysError;
using layers::UniqueFd;

std::string AbsoluteTarget(const std::string& target, const std::string& workdir) {
  if (!target.empty() && target[0] == '/') return target;
  return (workdir.empty() ? "/" : workdir) + "/" + target;
}

bool IsSocket(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

UniqueFd LockFile(const std::string& path, int how) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) throw SysError("open", path);
  while (::flock(fd.get(), how) != 0) {
    if (errno == EWOULDBLOCK) return UniqueFd();
    if (errno != EINTR) throw SysError("flock", path);
  }
  return fd;
}

pid_t Spawn(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env) {
  std::vector<std::string> env_s;
  for (char** e = environ; *e; ++e) env_s.emplace_back(*e);
  for (const std::string& e : extra_env) env_s.push_back(e);
  std::vector<char*> args, env;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (std::string& e : env_s) env.push_back(e.data());
  env.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  int err = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  if (err != 0) throw SysError("spawn", argv[0], err);
  return pid;
}

int WaitExit(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

RunMounts::RunMounts(const std::vector<MountSpec>& specs, const RunMountContext& ctx, const std::string& workdir)
    : ctx_(ctx) {
  try {
    int ssh_index = 0;
    for (const MountSpec& m : specs) {
      // A bind or tmpfs mount without a target is on the working directory (BuildKit joins the
      // empty target with it); secrets and SSH sockets have defaults of their own.
      const bool at_workdir = m.type == MountType::kBind || m.type == MountType::kTmpfs;
      std::string target = m.target.empty() && !at_workdir ? "" : AbsoluteTarget(m.target, workdir);
      if (!target.empty() && target.find_first_not_of('/') == std::string::npos) {
        throw RunMountError("a mount cannot cover the whole root filesystem (no target, and the working "
                            "directory is /): give target=PATH");
      }
      switch (m.type) {
        case MountType::kBind:
          AddBind(m, target);
          break;
        case MountType::kCache:
          AddCache(m, target);
          break;
        case MountType::kTmpfs: {
          SandboxMount s;
          s.kind = SandboxMount::Kind::kTmpfs;
          s.target = target;
          s.tmpfs_size = m.size.value_or(0);
          mounts_.push_back(s);
          break;
        }
        case MountType::kSecret:
          AddSecret(m);
          break;
        case MountType::kSsh:
          AddSsh(m, ssh_index++);
          break;
      }
    }
  } catch (...) {
    Release();
    throw;
  }
}

RunMounts::~RunMounts() { Release(); }

void RunMounts::Release() noexcept {
  overlays_.clear();
  for (pid_t pid : agents_) {
    ::kill(pid, SIGTERM);
    WaitExit(pid);
  }
  agents_.clear();
  files_.reset();
  locks_.clear();
}

void RunMounts::AddBind(const MountSpec& m, const std::string& target) {
  std::string root = ctx_.source_root(m.from);
  std::string rel = ResolveInRoot(root, m.source.empty() ? "/" : m.source);
  std::string source = rel.empty() ? root : root + "/" + rel;
  struct stat st;
  if (::stat(source.c_str(), &st) != 0) {
    throw RunMountError("bind source " + (m.source.empty() ? "/" : m.source) + " not found" +
                        (m.from.empty() ? " in the build context" : " in " + m.from));
  }
  SandboxMount s;
  s.kind = SandboxMount::Kind::kBind;
  s.target = target;
  s.read_only = m.read_only;
  if (m.read_only) {
    s.source = source;
  } else if (S_ISDIR(st.st_mode)) {
    // Writable, but the writes are thrown away: an overlay with a scratch upper directory.
    std::string dir = ctx_.scratch + "/rwbind-" + std::to_string(overlays_.size()) + "-" +
                      std::string(layers::Digest::OfBytes(target + std::to_string(::getpid()) +
                                                          std::to_string(mounts_.size())).hex().substr(0, 8));
    for (const char* sub : {"/upper", "/work", "/merged"}) layers::MakeDirs(dir + sub);
    if (source.find_first_of(",:") != std::string::npos) {
      throw RunMountError("bind source path " + source + " holds ',' or ':', which overlay cannot take");
    }
    Mount overlay{"overlay", "overlay",
                  {"lowerdir=" + source, "upperdir=" + dir + "/upper", "workdir=" + dir + "/work"}};
    overlays_.push_back(std::make_unique<MountGuard>(std::vector<Mount>{overlay}, dir + "/merged"));
    s.source = dir + "/merged";
  } else {
    std::string copy = ctx_.scratch + "/rwbind-file-" + std::to_string(mounts_.size()) + "-" +
                       std::to_string(::getpid());
    fs::copy_file(source, copy, fs::copy_options::overwrite_existing);
    s.source = copy;
  }
  mounts_.push_back(s);
}

void RunMounts::AddCache(const MountSpec& m, const std::string& target) {
  // A cache is its id and what it starts from: with uid/gid/mode or from= it is another cache
  // than the plain id (BuildKit keys a cache directory by id and its base).
  std::string identity = m.id;
  if (m.uid || m.gid || m.mode) {
    identity += "\nuid=" + std::to_string(m.uid.value_or(0)) + ",gid=" + std::to_string(m.gid.value_or(0)) +
                ",mode=" + std::to_string(m.mode.value_or(0755));
  }
  if (!m.from.empty()) identity += "\nfrom=" + m.from + ",source=" + m.source;
  std::string dir = ctx_.cache_dir + "/" + std::string(layers::Digest::OfBytes(identity).hex().substr(0, 32));
  layers::MakeDirs(dir);
  layers::WriteFileAtomic(dir + "/id", identity + "\n");
  std::string name = "data";
  UniqueFd lock;
  switch (m.sharing) {
    case frontend::CacheSharing::kShared:
      lock = LockFile(dir + "/lock", LOCK_SH);
      break;
    case frontend::CacheSharing::kLocked:
      lock = LockFile(dir + "/lock", LOCK_EX);
      break;
    case frontend::CacheSharing::kPrivate:
      // The shared directory when nobody uses it, else a private one of its own.
      for (int i = 0; !lock; ++i) {
        name = i == 0 ? "data" : "private-" + std::to_string(i);
        lock = LockFile(dir + "/" + (i == 0 ? std::string("lock") : name + ".lock"), LOCK_EX | LOCK_NB);
      }
      break;
  }
  std::string data = dir + "/" + name;
  struct stat st;
  if (::stat(data.c_str(), &st) != 0) {
    std::string tmp = data + ".new-" + std::to_string(::getpid()) + "-" + std::to_string(mounts_.size());
    std::error_code ec;
    fs::remove_all(tmp, ec);
    layers::MakeDirs(tmp);
    if (!m.from.empty()) {
      CopyRequest r;
      r.src_root = ctx_.source_root(m.from);
      r.sources = {m.source.empty() ? "." : m.source};
      r.dest = "/";
      r.lower_root = tmp;
      r.upper = tmp;
      try {
        Copy(r);
      } catch (const std::exception& e) {
        fs::remove_all(tmp, ec);
        throw RunMountError("cache mount " + m.id + ": initial contents from " + m.from + ": " + e.what());
      }
    }
    if (::chown(tmp.c_str(), m.uid.value_or(0), m.gid.value_or(0)) != 0) throw SysError("chown", tmp);
    if (::chmod(tmp.c_str(), m.mode.value_or(0755)) != 0) throw SysError("chmod", tmp);
    // Never over a directory another build made meanwhile (and may be using).
    if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, data.c_str(), RENAME_NOREPLACE) != 0) fs::remove_all(tmp, ec);
  }
  locks_.push_back(std::move(lock));
  SandboxMount s;
  s.kind = SandboxMount::Kind::kBind;
  s.source = data;
  s.target = target;
  s.read_only = m.read_only;
  mounts_.push_back(s);
}

void RunMounts::AddSecret(const MountSpec& m) {
  auto it = ctx_.secrets ? ctx_.secrets->find(m.id) : decltype(ctx_.secrets->end()){};
  if (!ctx_.secrets || it == ctx_.secrets->end()) {
    if (m.required) throw RunMountError("secret " + m.id + " is required but was not given (--secret id=" + m.id + ",src=FILE)");
    return;
  }
  std::string value;
  if (!it->second.env.empty()) {
    const char* v = std::getenv(it->second.env.c_str());
    if (!v) throw RunMountError("secret " + m.id + ": environment variable " + it->second.env + " is not set");
    value = v;
  } else {
    try {
      value = layers::ReadFile(it->second.file);
    } catch (const std::exception& e) {
      throw RunMountError("secret " + m.id + ": " + e.what());
    }
  }
  if (m.env) env_.push_back(*m.env + "=" + value);
  if (m.target.empty()) return;
  AddFile(m.target[0] == '/' ? m.target : "/" + m.target, value, m.mode.value_or(0400), m.uid.value_or(0),
          m.gid.value_or(0));
}

void RunMounts::AddFile(const std::string& target, const std::string& content, mode_t mode, uid_t uid, gid_t gid) {
  if (!files_) {
    std::string dir = ctx_.scratch + "/files-" + std::to_string(::getpid()) + "-" +
                      std::string(layers::Digest::OfBytes(target + std::to_string(reinterpret_cast<uintptr_t>(this))).hex().substr(0, 8));
    layers::MakeDirs(dir, 0700);
    files_ = std::make_unique<MountGuard>(std::vector<Mount>{{"tmpfs", "tmpfs", {"mode=0700", "size=64m"}}}, dir);
  }
  std::string path = files_->path() + "/" + std::to_string(file_count_++);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) throw SysError("create", path);
  layers::WriteAll(fd.get(), content.data(), content.size(), path);
  if (::fchmod(fd.get(), mode) != 0) throw SysError("fchmod", path);
  if (::fchown(fd.get(), uid, gid) != 0) throw SysError("fchown", path);
  SandboxMount s;
  s.kind = SandboxMount::Kind::kBind;
  s.source = path;
  s.target = target;
  s.read_only = true;
  mounts_.push_back(s);
}

void RunMounts::AddSsh(const MountSpec& m, int index) {
  std::vector<std::string> paths;
  if (ctx_.ssh) {
    if (auto it = ctx_.ssh->find(m.id); it != ctx_.ssh->end()) paths = it->second;
  }
  if (paths.empty()) {
    if (m.required) throw RunMountError("ssh " + m.id + " is required but was not given (--ssh " + m.id + "=SOCKET|KEY)");
    return;
  }
  std::string socket;
  if (paths.size() == 1 && IsSocket(paths[0])) {
    socket = paths[0];
  } else {
    // Key files: an ssh-agent of our own holds them while the step runs.
    std::string dir = ctx_.scratch + "/ssh-" + std::to_string(index) + "-" + std::to_string(agents_.size());
    layers::MakeDirs(dir, 0700);
    socket = dir + "/agent.sock";
    ::unlink(socket.c_str());
    agents_.push_back(Spawn({"ssh-agent", "-D", "-a", socket}, {}));
    for (int i = 0; i < 500 && !IsSocket(socket); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (!IsSocket(socket)) throw RunMountError("ssh " + m.id + ": ssh-agent did not start");
    for (const std::string& p : paths) {
      if (IsSocket(p)) throw RunMountError("ssh " + m.id + ": give either one agent socket or key files, not both");
      if (WaitExit(Spawn({"ssh-add", p}, {"SSH_AUTH_SOCK=" + socket})) != 0) {
        throw RunMountError("ssh " + m.id + ": ssh-add could not load " + p);
      }
    }
  }
  SandboxMount s;
  s.kind = SandboxMount::Kind::kBind;
  s.source = socket;
  s.target = m.target.empty() ? "/run/buildkit/ssh_agent." + std::to_string(index) : m.target;
  mounts_.push_back(s);
  env_.push_back("SSH_AUTH_SOCK=" + s.target);
}

}  // namespace imgbuild::builder
