#include "builder/sandbox/sandbox.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <grp.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "builder/sandbox/mount_stubs.h"
#include "builder/sandbox/sandbox_plan.h"
#include "builder/sandbox/seccomp_filter.h"
#include "layers/sys_error.h"

namespace imgbuild::builder {
namespace {

using layers::SysError;
using layers::UniqueFd;
using namespace detail;  // NOLINT: the plan types

// --- the parent side ---

int LastCap() {
  std::string text;
  try {
    text = layers::ReadFile("/proc/sys/kernel/cap_last_cap");
    return std::stoi(text);
  } catch (const std::exception&) {
    return CAP_LAST_CAP;
  }
}

bool IsDirectory(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Op MountOp(std::string source, std::string target, std::string fstype, unsigned long flags, std::string data,
           std::string what) {
  Op op;
  op.type = Op::kMount;
  op.source = std::move(source);
  op.target = std::move(target);
  op.fstype = std::move(fstype);
  op.data = std::move(data);
  op.flags = flags;
  op.what = std::move(what);
  return op;
}

Op SimpleOp(Op::Type type, std::string target, mode_t mode, std::string what, std::string source = {}) {
  Op op;
  op.type = type;
  op.source = std::move(source);
  op.target = std::move(target);
  op.mode = mode;
  op.what = std::move(what);
  return op;
}

// mount_setattr on `target` (and every mount below it when `recursive`).
Op SetAttr(const std::string& target, bool recursive, uint64_t set, uint64_t clr, std::string what) {
  Op op = SimpleOp(Op::kSetAttr, target, 0, std::move(what));
  op.flags = recursive ? AT_RECURSIVE : 0;
  op.attr_set = set;
  op.attr_clr = clr;
  return op;
}

// Read-only all the way down: a filesystem mounted below a bound directory is read-only too.
Op RemountReadOnly(const std::string& target, const std::string& shown, bool optional) {
  Op op = SetAttr(target, true, MOUNT_ATTR_RDONLY, 0, "remount " + shown + " read-only");
  op.optional = optional;
  return op;
}

const char* const kStandardDevices[] = {"null", "zero", "full", "random", "urandom", "tty"};

// Device nodes work only where the sandbox put them: every mount of the rootfs is nodev (a node
// made by mknod, shipped in a layer or bound from a stage cannot be opened), then the standard
// devices and /dev/pts get their own mounts without it — what Docker's device cgroup allows.
void RestrictDevices(ChildPlan& plan, const std::string& r) {
  plan.ops.push_back(SetAttr(r, true, MOUNT_ATTR_NODEV, 0, "make the rootfs nodev"));
  for (const char* d : kStandardDevices) {
    std::string path = r + "/dev/" + d;
    plan.ops.push_back(MountOp(path, path, "", MS_BIND, "", std::string("bind /dev/") + d));
    plan.ops.push_back(SetAttr(path, false, 0, MOUNT_ATTR_NODEV, std::string("allow /dev/") + d));
  }
  plan.ops.push_back(SetAttr(r + "/dev/pts", false, 0, MOUNT_ATTR_NODEV, "allow /dev/pts"));
}

void AddDev(ChildPlan& plan, const std::string& r, int64_t shm_size) {
  plan.ops.push_back(MountOp("tmpfs", r + "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k",
                             "mount tmpfs on /dev"));
  const struct {
    const char* name;
    unsigned major, minor;
  } devices[] = {{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
  static_assert(std::size(devices) == std::size(kStandardDevices));
  for (const auto& d : devices) {
    Op op = SimpleOp(Op::kMknod, r + "/dev/" + d.name, S_IFCHR | 0666, std::string("mknod /dev/") + d.name);
    op.dev = makedev(d.major, d.minor);
    plan.ops.push_back(op);
  }
  const std::pair<const char*, const char*> links[] = {{"/proc/self/fd", "fd"},         {"/proc/self/fd/0", "stdin"},
                                                       {"/proc/self/fd/1", "stdout"},   {"/proc/self/fd/2", "stderr"},
                                                       {"pts/ptmx", "ptmx"}};
  for (const auto& [target, name] : links) {
    plan.ops.push_back(SimpleOp(Op::kSymlink, r + "/dev/" + name, 0, std::string("symlink /dev/") + name, target));
  }
  plan.ops.push_back(SimpleOp(Op::kMkdir, r + "/dev/pts", 0755, "mkdir /dev/pts"));
  plan.ops.push_back(MountOp("devpts", r + "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
                             "newinstance,ptmxmode=0666,mode=0620,gid=5", "mount devpts on /dev/pts"));
  plan.ops.push_back(SimpleOp(Op::kMkdir, r + "/dev/shm", 01777, "mkdir /dev/shm"));
  plan.ops.push_back(MountOp("shm", r + "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                             "mode=1777,size=" + std::to_string(shm_size) , "mount tmpfs on /dev/shm"));
  plan.ops.push_back(SimpleOp(Op::kMkdir, r + "/dev/mqueue", 0755, "mkdir /dev/mqueue"));
  plan.ops.push_back(MountOp("mqueue", r + "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, "",
                             "mount mqueue on /dev/mqueue"));
}

// Docker's masked and read-only /proc paths.
void AddProcMasks(ChildPlan& plan, const std::string& r) {
  for (const char* p : {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}) {
    Op bind = MountOp(r + p, r + p, "", MS_BIND | MS_REC, "", std::string("bind ") + p);
    bind.optional = true;
    plan.ops.push_back(bind);
    plan.ops.push_back(RemountReadOnly(r + p, p, true));
  }
  for (const char* p : {"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug", "/proc/latency_stats"}) {
    Op op = MountOp(r + "/dev/null", r + p, "", MS_BIND, "", std::string("mask ") + p);
    op.optional = true;
    plan.ops.push_back(op);
  }
  for (const char* p : {"/proc/acpi", "/proc/scsi"}) {
    Op op = MountOp("tmpfs", r + p, "tmpfs", MS_RDONLY, "size=0", std::string("mask ") + p);
    op.optional = true;
    plan.ops.push_back(op);
  }
}

// Creates the parents and the mount point of a target under /dev (a tmpfs made in the child).
void AddDevTarget(ChildPlan& plan, const std::string& r, const std::string& target, bool dir) {
  std::string cur = r;
  size_t start = 1;
  while (start < target.size()) {
    size_t slash = target.find('/', start);
    if (slash == std::string::npos) slash = target.size();
    cur += target.substr(start - 1, slash - start + 1);
    bool last = slash == target.size();
    if (cur != r + "/dev") {
      plan.ops.push_back(last && !dir ? SimpleOp(Op::kCreate, cur, 0644, "create " + target)
                                      : SimpleOp(Op::kMkdir, cur, 0755, "mkdir " + cur.substr(r.size())));
    }
    start = slash + 1;
  }
}

std::string CleanTarget(const std::string& target) {
  std::string out = "/";
  size_t start = 0;
  while (start < target.size()) {
    size_t slash = target.find('/', start);
    if (slash == std::string::npos) slash = target.size();
    std::string part = target.substr(start, slash - start);
    if (part == "..") {
      size_t prev = out.find_last_of('/', out.size() - 2);
      out = out.size() > 1 ? out.substr(0, prev + 1) : out;
    } else if (!part.empty() && part != ".") {
      out += part + "/";
    }
    start = slash + 1;
  }
  if (out.size() > 1) out.pop_back();
  return out;
}

ChildPlan MakePlan(const SandboxSpec& spec, MountStubs& stubs) {
  ChildPlan plan;
  const std::string& r = spec.rootfs;
  plan.rootfs = r;
  plan.hostname = spec.hostname;
  plan.new_net = spec.network == SandboxNetwork::kNone;
  if (spec.network == SandboxNetwork::kPrivate) {
    if (spec.netns_fd < 0) throw std::invalid_argument("sandbox: the private network has no namespace");
    plan.netns_fd = spec.netns_fd;
  }
  plan.privileged = spec.privileged;
  plan.last_cap = LastCap();
  try {
    // Only when argv[0] starts the argument area, as it does for a program started by exec.
    std::string args = layers::ReadFile("/proc/self/cmdline");
    if (args.rfind(program_invocation_name, 0) == 0) plan.args_size = args.size();
  } catch (const std::exception&) {
  }
  for (const auto& c : kDefaultCaps) plan.caps[c.cap / 32] |= 1u << (c.cap % 32);
  plan.ops.push_back(MountOp(r, r, "", MS_BIND | MS_REC, "", "bind the rootfs onto itself"));
  for (const char* d : {"/proc", "/dev", "/sys"}) {
    std::string rel = stubs.Ensure(d, true);
    if (rel != std::string(d + 1)) {
      throw SysError("prepare the sandbox: " + std::string(d) + " is a symlink in the rootfs", r + d, ELOOP);
    }
  }
  plan.ops.push_back(MountOp("proc", r + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "", "mount /proc"));
  AddDev(plan, r, spec.shm_size);
  for (const SandboxRlimit& l : spec.rlimits) plan.rlimits.push_back({l.resource, l.soft, l.hard});
  Op sys = SimpleOp(Op::kSysfs, r + "/sys", 0, "mount /sys");
  sys.flags = MS_NOSUID | MS_NODEV | MS_NOEXEC | (spec.privileged ? 0 : MS_RDONLY);
  plan.ops.push_back(sys);
  const std::pair<const std::string*, const char*> etc[] = {
      {&spec.hosts_file, "/etc/hosts"}, {&spec.resolv_file, "/etc/resolv.conf"}, {&spec.hostname_file, "/etc/hostname"}};
  for (const auto& [source, target] : etc) {
    if (source->empty()) continue;
    std::string rel = stubs.Ensure(target, false);
    plan.ops.push_back(MountOp(*source, r + "/" + rel, "", MS_BIND, "", std::string("bind ") + target));
  }
  for (const SandboxMount& m : spec.mounts) {
    std::string target = CleanTarget(m.target);
    bool dir = m.kind == SandboxMount::Kind::kTmpfs || (m.kind == SandboxMount::Kind::kBind && IsDirectory(m.source));
    std::string path;
    if (target == "/dev" || target.rfind("/dev/", 0) == 0) {
      AddDevTarget(plan, r, target, dir);
      path = r + target;
    } else if (target == "/proc" || target.rfind("/proc/", 0) == 0 || target == "/sys" || target.rfind("/sys/", 0) == 0) {
      throw SysError("mount " + target + ": targets under /proc and /sys are not allowed", target, EPERM);
    } else {
      path = r + "/" + stubs.Ensure(target, dir);
    }
    switch (m.kind) {
      case SandboxMount::Kind::kBind:
        plan.ops.push_back(MountOp(m.source, path, "", MS_BIND | MS_REC, "", "bind " + target));
        break;
      case SandboxMount::Kind::kTmpfs: {
        char mode[16];
        std::snprintf(mode, sizeof mode, "%o", m.tmpfs_mode);
        std::string data = std::string("mode=") + mode;
        if (m.tmpfs_size > 0) data += ",size=" + std::to_string(m.tmpfs_size);
        plan.ops.push_back(MountOp("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, data, "mount tmpfs on " + target));
        break;
      }
    }
    if (m.read_only) plan.ops.push_back(RemountReadOnly(path, target, false));
  }
  if (!spec.privileged) {
    AddProcMasks(plan, r);
    RestrictDevices(plan, r);
    plan.seccomp = DefaultSeccompProgram();
  }

  plan.uid = spec.uid;
  plan.gid = spec.gid;
  plan.groups = spec.groups;
  plan.cwd = spec.cwd.empty() ? "/" : spec.cwd;
  plan.argv_s = spec.argv;
  plan.env_s = spec.env;
  for (std::string& s : plan.argv_s) plan.argv.push_back(s.data());
  plan.argv.push_back(nullptr);
  for (std::string& s : plan.env_s) plan.env.push_back(s.data());
  plan.env.push_back(nullptr);
  const std::string& cmd = spec.argv.at(0);
  if (cmd.find('/') != std::string::npos) {
    plan.candidates.push_back(cmd);
  } else {
    std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (const std::string& e : spec.env) {
      if (e.rfind("PATH=", 0) == 0) path = e.substr(5);
    }
    size_t start = 0;
    while (start <= path.size()) {
      size_t colon = path.find(':', start);
      if (colon == std::string::npos) colon = path.size();
      std::string dir = path.substr(start, colon - start);
      plan.candidates.push_back((dir.empty() ? "." : dir) + "/" + cmd);
      start = colon + 1;
    }
  }
  return plan;
}

std::string DescribeStatus(int status) {
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  return "exit status " + std::to_string(WEXITSTATUS(status));
}

// Forwards the sandbox's output until both pipes close, killing it when `cancelled` says so.
void ReadUntilDone(pid_t pid, int out_fd, int report_fd, const std::function<void(std::string_view)>& on_output,
                   const std::function<bool()>& cancelled, SandboxResult& result, Report& got, bool& have_report) {
  bool out_open = true, report_open = true, killed = false;
  char buf[65536];
  while (out_open || report_open) {
    if (!killed && cancelled && cancelled()) {
      ::kill(pid, SIGKILL);
      killed = true;
      result.cancelled = true;
    }
    struct pollfd fds[2] = {{out_open ? out_fd : -1, POLLIN, 0}, {report_open ? report_fd : -1, POLLIN, 0}};
    int n = ::poll(fds, 2, 200);
    if (n < 0 && errno != EINTR) throw SysError("poll", "the sandbox's output");
    if (n <= 0) continue;
    if (fds[0].revents) {
      ssize_t got_n = ::read(out_fd, buf, sizeof buf);
      if (got_n > 0) {
        if (on_output) on_output(std::string_view(buf, static_cast<size_t>(got_n)));
      } else if (got_n == 0 || errno != EINTR) {
        out_open = false;
      }
    }
    if (fds[1].revents) {
      Report r;
      ssize_t got_n = ::read(report_fd, &r, sizeof r);
      if (got_n == static_cast<ssize_t>(sizeof r)) {
        // A setup failure outranks the exit that follows it.
        if (!have_report || got.kind != kReportError) got = r;
        have_report = true;
      } else if (got_n == 0 || (got_n < 0 && errno != EINTR)) {
        report_open = false;
      }
    }
  }
}

}  // namespace

std::vector<std::string> DefaultCapabilityNames() {
  std::vector<std::string> out;
  for (const auto& c : kDefaultCaps) out.push_back(c.name);
  return out;
}

SandboxResult RunSandbox(const SandboxSpec& spec, const std::function<void(std::string_view)>& on_output,
                         const std::function<bool()>& cancelled) {
  if (spec.argv.empty()) throw std::invalid_argument("sandbox: empty command");
  MountStubs stubs(spec.rootfs);
  ChildPlan plan = MakePlan(spec, stubs);
  int out[2], report[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw SysError("pipe", "sandbox output");
  UniqueFd out_r(out[0]), out_w(out[1]);
  if (::pipe2(report, O_CLOEXEC) != 0) throw SysError("pipe", "sandbox report");
  UniqueFd report_r(report[0]), report_w(report[1]);
  plan.out_fd = out_w.get();
  plan.report_fd = report_w.get();
  plan.keep_fds.push_back(plan.out_fd);
  plan.keep_fds.push_back(plan.report_fd);
  UniqueFd emulator;
  if (!spec.binfmt_register.empty()) {
    emulator = UniqueFd(::open(spec.binfmt_interpreter.c_str(), O_RDONLY | O_CLOEXEC));
    if (emulator.get() < 0) throw SysError("open the emulator", spec.binfmt_interpreter);
    plan.emu_fd = emulator.get();
    plan.keep_fds.push_back(plan.emu_fd);
    std::string line = spec.binfmt_register;
    size_t at = line.find("%s");
    if (at == std::string::npos) throw std::invalid_argument("sandbox: the emulator's registration names no interpreter");
    line.replace(at, 2, "/proc/self/fd/" + std::to_string(plan.emu_fd));
    plan.binfmt_line = line;
  }
  if (plan.netns_fd >= 0) plan.keep_fds.push_back(plan.netns_fd);
  std::sort(plan.keep_fds.begin(), plan.keep_fds.end());

  unsigned long flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD;
  if (plan.new_net) flags |= CLONE_NEWNET;
  long pid = ::syscall(SYS_clone, flags, nullptr, nullptr, nullptr, 0);
  if (pid < 0) throw SysError("clone", "the build sandbox");
  if (pid == 0) SandboxChild(plan);
  out_w.Reset();
  report_w.Reset();

  SandboxResult result;
  Report got{};
  bool have_report = false;
  try {
    ReadUntilDone(static_cast<pid_t>(pid), out_r.get(), report_r.get(), on_output, cancelled, result, got, have_report);
  } catch (...) {
    // The caller's output handler failed (a full disk for the log): nothing may outlive us.
    ::kill(static_cast<pid_t>(pid), SIGKILL);
    while (::waitpid(static_cast<pid_t>(pid), nullptr, 0) < 0 && errno == EINTR) {
    }
    throw;
  }
  int status = 0;
  while (::waitpid(static_cast<pid_t>(pid), &status, 0) < 0 && errno == EINTR) {
  }
  stubs.Remove();
  if (have_report && got.kind == kReportError) {
    got.what[sizeof got.what - 1] = '\0';
    std::string what = got.what;  // "mount /proc", "exec make", "capset"
    size_t space = what.find(' ');
    throw SysError("build sandbox: " + what.substr(0, space),
                   space == std::string::npos ? "(setup)" : what.substr(space + 1), got.err);
  }
  if (result.cancelled) return result;
  if (!have_report || got.status < 0) {
    throw SysError("build sandbox: its init ended without the command's status (" + DescribeStatus(status) + ")",
                   spec.rootfs, EIO);
  }
  if (WIFSIGNALED(got.status)) {
    result.signal = WTERMSIG(got.status);
    result.exit_code = 128 + result.signal;
  } else {
    result.exit_code = WEXITSTATUS(got.status);
  }
  return result;
}

}  // namespace imgbuild::builder
