#include "builder/sandbox/sandbox_plan.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/keyctl.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
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

namespace imgbuild::builder::detail {
namespace {

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
    case Op::kSetAttr: {
      struct mount_attr attr {};
      attr.attr_set = op.attr_set;
      attr.attr_clr = op.attr_clr;
      return ::syscall(SYS_mount_setattr, AT_FDCWD, op.target.c_str(), static_cast<unsigned>(op.flags), &attr,
                       sizeof attr) == 0;
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

// The command's user namespace, identity-mapped by the init (WriteIdMaps), with a mount
// namespace and a binfmt_misc instance of its own that holds the emulator; first thing, while
// the emulator's descriptor is open. The instance lives as long as it is mounted: read-only on
// /proc/sys/fs/binfmt_misc, where the command can look but not change it.
void EnterEmulation(const ChildPlan& p, int sync_fd) {
  char go;
  if (::read(sync_fd, &go, 1) != 1) ::_exit(126);  // the init failed, and said why
  ::close(sync_fd);
  const char* dir = "/proc/sys/fs/binfmt_misc";
  if (::mount("binfmt_misc", dir, "binfmt_misc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
    ChildFail(p, "mount binfmt_misc (for the emulator)", errno);
  }
  int fd = ::open("/proc/sys/fs/binfmt_misc/register", O_WRONLY | O_CLOEXEC);
  if (fd < 0) ChildFail(p, "open binfmt_misc/register", errno);
  ssize_t n = ::write(fd, p.binfmt_line.data(), p.binfmt_line.size());
  if (n != static_cast<ssize_t>(p.binfmt_line.size())) ChildFail(p, "register the emulator", n < 0 ? errno : EIO);
  ::close(fd);
  if (::mount(nullptr, dir, nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0) {
    ChildFail(p, "remount binfmt_misc read-only", errno);
  }
  ::close(p.emu_fd);
}

// Writes "0 0 4294967295" to /proc/PID/{uid_map,gid_map}: every ID maps to itself.
void WriteIdMaps(const ChildPlan& p, long pid) {
  for (const char* file : {"/uid_map", "/gid_map"}) {
    char path[64] = "/proc/";
    size_t len = 6;
    char digits[24];
    int nd = 0;
    for (long v = pid; v > 0 || nd == 0; v /= 10) digits[nd++] = static_cast<char>('0' + v % 10);
    while (nd > 0) path[len++] = digits[--nd];
    for (const char* c = file; *c; ++c) path[len++] = *c;
    path[len] = '\0';
    int fd = ::open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) ChildFail(p, "open the command's ID map", errno);
    static const char kMap[] = "0 0 4294967295\n";
    if (::write(fd, kMap, sizeof kMap - 1) != static_cast<ssize_t>(sizeof kMap - 1)) {
      ChildFail(p, "write the command's ID map", errno);
    }
    ::close(fd);
  }
}

[[noreturn]] void Worker(const ChildPlan& p, int sync_fd) {
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
  if (p.emu_fd >= 0) EnterEmulation(p, sync_fd);
  int devnull = ::open("/dev/null", O_RDONLY);
  if (devnull < 0) ChildFail(p, "open /dev/null", errno);
  if (::dup2(devnull, 0) < 0 || ::dup2(p.out_fd, 1) < 0 || ::dup2(p.out_fd, 2) < 0) ChildFail(p, "dup2", errno);
  ::close_range(3, kReportFd - 1, 0);
  ::close_range(kReportFd + 1, ~0U, 0);
  for (const ChildPlan::Limit& l : p.rlimits) {
    struct rlimit rl = {static_cast<rlim_t>(l.soft), static_cast<rlim_t>(l.hard)};
    if (::setrlimit(l.resource, &rl) != 0) ChildFail(p, "setrlimit (--ulimit)", errno);
  }
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
  // Raw system calls: glibc's wrappers broadcast the change to every thread it believes the
  // process has (the parent's, copied by clone), and wait on a futex for answers that never come.
  if (::syscall(SYS_setgroups, p.groups.size(), p.groups.data()) != 0) ChildFail(p, "setgroups", errno);
  if (::syscall(SYS_setresgid, p.gid, p.gid, p.gid) != 0) ChildFail(p, "setresgid", errno);
  if (::syscall(SYS_setresuid, p.uid, p.uid, p.uid) != 0) ChildFail(p, "setresuid", errno);
  ::umask(022);
  // A session keyring of its own: the invoker's keys are out of reach (and keyctl is filtered).
  ::syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, nullptr);
  if (!p.seccomp.empty()) {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ChildFail(p, "prctl PR_SET_NO_NEW_PRIVS", errno);
    struct sock_fprog prog = {static_cast<unsigned short>(p.seccomp.size()), const_cast<sock_filter*>(p.seccomp.data())};
    if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0) ChildFail(p, "load the seccomp filter", errno);
  }
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
}  // namespace

[[noreturn]] void SandboxChild(const ChildPlan& p) {
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
  if (p.netns_fd >= 0) {
    if (::setns(p.netns_fd, CLONE_NEWNET) != 0) ChildFail(p, "join the build's network", errno);
    ::close(p.netns_fd);
  } else if (p.new_net) {
    LoopbackUp(p);
  }
  if (::chdir(p.rootfs.c_str()) != 0) ChildFail(p, "chdir to the rootfs", errno);
  if (::syscall(SYS_pivot_root, ".", ".") != 0) ChildFail(p, "pivot_root", errno);
  if (::umount2(".", MNT_DETACH) != 0) ChildFail(p, "detach the old root", errno);
  if (::chdir("/") != 0) ChildFail(p, "chdir /", errno);
  if (::sethostname(p.hostname.data(), p.hostname.size()) != 0) ChildFail(p, "sethostname", errno);
  int sync[2] = {-1, -1};
  if (p.emu_fd >= 0 && ::pipe2(sync, O_CLOEXEC) != 0) ChildFail(p, "pipe for the emulator", errno);
  unsigned long flags = SIGCHLD | (p.emu_fd >= 0 ? CLONE_NEWUSER | CLONE_NEWNS : 0);
  long worker = ::syscall(SYS_clone, flags, nullptr, nullptr, nullptr, 0);
  if (worker < 0) ChildFail(p, "fork the command", errno);
  if (worker == 0) {
    if (sync[1] >= 0) ::close(sync[1]);
    Worker(p, sync[0]);
  }
  if (p.emu_fd >= 0) {
    ::close(sync[0]);
    WriteIdMaps(p, worker);
    if (::write(sync[1], "x", 1) != 1) ChildFail(p, "start the command", errno);
    ::close(sync[1]);
    ::close(p.emu_fd);
  }
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

}  // namespace imgbuild::builder::detail
