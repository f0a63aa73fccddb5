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

#include "builder/sandbox/mount_stubs.h"
#include "layers/sys_error.h"

namespace imgbuild::builder {
namespace {

using layers::SysError;
using layers::UniqueFd;

// Docker's default capabilities (moby/oci/caps/defaults.go).
constexpr struct {
  int cap;
  const char* name;
} kDefaultCaps[] = {
    {CAP_CHOWN, "CAP_CHOWN"},         {CAP_DAC_OVERRIDE, "CAP_DAC_OVERRIDE"},
    {CAP_FSETID, "CAP_FSETID"},       {CAP_FOWNER, "CAP_FOWNER"},
    {CAP_MKNOD, "CAP_MKNOD"},         {CAP_NET_RAW, "CAP_NET_RAW"},
    {CAP_SETGID, "CAP_SETGID"},       {CAP_SETUID, "CAP_SETUID"},
    {CAP_SETFCAP, "CAP_SETFCAP"},     {CAP_SETPCAP, "CAP_SETPCAP"},
    {CAP_NET_BIND_SERVICE, "CAP_NET_BIND_SERVICE"}, {CAP_SYS_CHROOT, "CAP_SYS_CHROOT"},
    {CAP_KILL, "CAP_KILL"},           {CAP_AUDIT_WRITE, "CAP_AUDIT_WRITE"},
};

// One setup action of the child, prepared by the parent so that the child only makes system
// calls (it is a copy of a multithreaded process: no allocation, no locks).
struct Op {
  enum Type { kMount, kRemount, kMkdir, kMknod, kSymlink, kCreate, kSysfs } type = kMount;
  std::string source, target, fstype, data;
  unsigned long flags = 0;
  mode_t mode = 0;
  dev_t dev = 0;
  bool optional = false;  // skipped when the target is missing
  std::string what;       // "mount /proc" — the error names it
};

// What the child writes to the report pipe: a setup failure, or the command's wait status.
struct Report {
  int32_t kind;  // kReportError or kReportExit
  int32_t err;
  int32_t status;
  char what[256];
};
constexpr int32_t kReportError = 1, kReportExit = 2;
constexpr int kReportFd = 100;  // where the worker keeps the report pipe until exec

struct ChildPlan {
  std::vector<Op> ops;
  std::string rootfs;
  std::string hostname;
  bool new_net = false;
  bool privileged = false;
  int last_cap = CAP_LAST_CAP;
  uint32_t caps[2] = {0, 0};  // effective = permitted = inheritable
  std::vector<int> keep_fds;  // sorted; everything else is closed first thing
  int out_fd = -1, report_fd = -1;
  size_t args_size = 0;  // of imgbuild's own command line
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::string cwd;
  std::vector<std::string> argv_s, env_s, candidates;
  std::vector<char*> argv, env;
};

// --- the child side: system calls only ---

void CopyText(char* dst, size_t cap, const char* src) {
  size_t i = 0;
  for (; src[i] && i + 1 < cap; ++i) dst[i] = src[i];
  dst[i] = '\0';
}

[[noreturn]] void ChildFail(const ChildPlan& p, const char* what, int err) {
  Report r{};
  r.kind = kReportError;
  r.err = err;
  CopyText(r.what, sizeof r.what, what);
  ssize_t n = ::write(p.report_fd, &r, sizeof r);
  (void)n;
  ::_exit(126);
}

void CloseAllBut(const std::vector<int>& keep) {
  unsigned int next = 3;
  for (int fd : keep) {
    if (fd < 3) continue;
    if (static_cast<unsigned>(fd) > next) ::close_range(next, static_cast<unsigned>(fd) - 1, 0);
    next = static_cast<unsigned>(fd) + 1;
  }
  ::close_range(next, ~0U, 0);
}

bool RunOp(const Op& op) {
  switch (op.type) {
    case Op::kMount:
      return ::mount(op.source.empty() ? nullptr : op.source.c_str(), op.target.c_str(),
                     op.fstype.empty() ? nullptr : op.fstype.c_str(), op.flags,
                     op.data.empty() ? nullptr : op.data.c_str()) == 0;
    case Op::kRemount:
      return ::mount(nullptr, op.target.c_str(), nullptr, op.flags, nullptr) == 0;
    case Op::kMkdir:
      return ::mkdir(op.target.c_str(), op.mode) == 0 || errno == EEXIST;
    case Op::kMknod:
      return ::mknod(op.target.c_str(), op.mode, op.dev) == 0;
    case Op::kSymlink:
      return ::symlink(op.source.c_str(), op.target.c_str()) == 0;
    case Op::kCreate: {
      int fd = ::open(op.target.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, op.mode);
      if (fd < 0) return false;
      ::close(fd);
      return true;
    }
    case Op::kSysfs:
      // A fresh sysfs where the kernel lets us, else the host's bound read-only.
      if (::mount("sysfs", op.target.c_str(), "sysfs", op.flags, nullptr) == 0) return true;
      if (::mount("/sys", op.target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0) return false;
      return (op.flags & MS_RDONLY) == 0 ||
             ::mount(nullptr, op.target.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) == 0;
  }
  return false;
}

void LoopbackUp(const ChildPlan& p) {
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) ChildFail(p, "socket for loopback", errno);
  struct ifreq ifr {};
  CopyText(ifr.ifr_name, IFNAMSIZ, "lo");
  if (::ioctl(s, SIOCGIFFLAGS, &ifr) != 0) ChildFail(p, "SIOCGIFFLAGS lo", errno);
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
  if (::ioctl(s, SIOCSIFFLAGS, &ifr) != 0) ChildFail(p, "SIOCSIFFLAGS lo", errno);
  ::close(s);
}

[[noreturn]] void Worker(const ChildPlan& p) {
  // Signals as a fresh process has them; a session of its own (no terminal signals).
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::setsid();
  if (p.report_fd != kReportFd && ::dup3(p.report_fd, kReportFd, O_CLOEXEC) < 0) ::_exit(126);
  ChildPlan& mp = const_cast<ChildPlan&>(p);
  mp.report_fd = kReportFd;
  int devnull = ::open("/dev/null", O_RDONLY);
  if (devnull < 0) ChildFail(p, "open /dev/null", errno);
  if (::dup2(devnull, 0) < 0 || ::dup2(p.out_fd, 1) < 0 || ::dup2(p.out_fd, 2) < 0) ChildFail(p, "dup2", errno);
  ::close_range(3, kReportFd - 1, 0);
  ::close_range(kReportFd + 1, ~0U, 0);
  if (!p.privileged) {
    for (int cap = 0; cap <= p.last_cap; ++cap) {
      bool keep = (p.caps[cap / 32] >> (cap % 32)) & 1u;
      if (!keep && ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
        ChildFail(p, "prctl PR_CAPBSET_DROP", errno);
      }
    }
    ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2] = {};
    for (int i = 0; i < 2; ++i) data[i].effective = data[i].permitted = data[i].inheritable = p.caps[i];
    if (::syscall(SYS_capset, &hdr, data) != 0) ChildFail(p, "capset", errno);
  }
  if (::chdir(p.cwd.c_str()) != 0) ChildFail(p, "chdir to the working directory", errno);
  if (::setgroups(p.groups.size(), p.groups.data()) != 0) ChildFail(p, "setgroups", errno);
  if (::setresgid(p.gid, p.gid, p.gid) != 0) ChildFail(p, "setresgid", errno);
  if (::setresuid(p.uid, p.uid, p.uid) != 0) ChildFail(p, "setresuid", errno);
  ::umask(022);
  int err = ENOENT;
  for (const std::string& c : p.candidates) {
    ::execve(c.c_str(), p.argv.data(), p.env.data());
    if (errno != ENOENT && errno != ENOTDIR) err = errno;
    if (errno != ENOENT && errno != ENOTDIR && errno != EACCES) break;
  }
  Report r{};
  r.kind = kReportError;
  r.err = err;
  CopyText(r.what, sizeof r.what, "exec ");
  CopyText(r.what + 5, sizeof r.what - 5, p.argv_s[0].c_str());
  ssize_t n = ::write(p.report_fd, &r, sizeof r);
  (void)n;
  ::_exit(127);
}

// What `ps` shows for the sandbox's init instead of imgbuild's own command line: the child is a
// copy of imgbuild, so its argument area (argv[0] onwards, `args_size` bytes) is rewritten.
void NameInit(size_t args_size) {
  static const char kName[] = "imgbuild-init";
  ::prctl(PR_SET_NAME, kName, 0, 0, 0);
  if (args_size < sizeof kName) return;
  char* args = program_invocation_name;
  for (size_t i = 0; i < args_size; ++i) args[i] = i < sizeof kName ? kName[i] : '\0';
}

// The sandbox's init (PID 1 of its namespace).
[[noreturn]] void Child(const ChildPlan& p) {
  // If imgbuild dies (SIGKILL), the sandbox dies with it. If it died before this, the report
  // pipe has no reader left.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  struct pollfd lifeline = {p.report_fd, 0, 0};
  if (::poll(&lifeline, 1, 0) == 1 && (lifeline.revents & POLLERR)) ::_exit(126);
  CloseAllBut(p.keep_fds);
  NameInit(p.args_size);
  ::umask(0);
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) ChildFail(p, "make / private", errno);
  for (const Op& op : p.ops) {
    if (!RunOp(op) && !(op.optional && (errno == ENOENT || errno == ENOTDIR))) ChildFail(p, op.what.c_str(), errno);
  }
  if (p.new_net) LoopbackUp(p);
  if (::chdir(p.rootfs.c_str()) != 0) ChildFail(p, "chdir to the rootfs", errno);
  if (::syscall(SYS_pivot_root, ".", ".") != 0) ChildFail(p, "pivot_root", errno);
  if (::umount2(".", MNT_DETACH) != 0) ChildFail(p, "detach the old root", errno);
  if (::chdir("/") != 0) ChildFail(p, "chdir /", errno);
  if (::sethostname(p.hostname.data(), p.hostname.size()) != 0) ChildFail(p, "sethostname", errno);
  long worker = ::syscall(SYS_clone, SIGCHLD, nullptr, nullptr, nullptr, 0);
  if (worker < 0) ChildFail(p, "fork the command", errno);
  if (worker == 0) Worker(p);
  ::close(p.out_fd);
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0 && errno == EINTR) continue;
    if (pid == worker || pid < 0) {
      Report r{};
      r.kind = kReportExit;
      r.status = pid == worker ? status : -1;
      ssize_t n = ::write(p.report_fd, &r, sizeof r);
      (void)n;
      ::_exit(0);  // the kernel now kills whatever is left in the namespace
    }
  }
}

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

Op RemountReadOnly(const std::string& target, const std::string& shown, bool optional) {
  Op op = SimpleOp(Op::kRemount, target, 0, "remount " + shown + " read-only");
  op.flags = MS_BIND | MS_REMOUNT | MS_RDONLY;
  op.optional = optional;
  return op;
}

void AddDev(ChildPlan& plan, const std::string& r) {
  plan.ops.push_back(MountOp("tmpfs", r + "/dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k",
                             "mount tmpfs on /dev"));
  const struct {
    const char* name;
    unsigned major, minor;
  } devices[] = {{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0}};
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
  plan.ops.push_back(MountOp("shm", r + "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k",
                             "mount tmpfs on /dev/shm"));
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
  AddDev(plan, r);
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
  if (!spec.privileged) AddProcMasks(plan, r);

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
  std::sort(plan.keep_fds.begin(), plan.keep_fds.end());

  unsigned long flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD;
  if (plan.new_net) flags |= CLONE_NEWNET;
  long pid = ::syscall(SYS_clone, flags, nullptr, nullptr, nullptr, 0);
  if (pid < 0) throw SysError("clone", "the build sandbox");
  if (pid == 0) Child(plan);
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
