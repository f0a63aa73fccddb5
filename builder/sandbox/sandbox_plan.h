// Internal to builder/sandbox: the plan the parent prepares for the sandbox's first process and
// the protocol between them. The child (sandbox_child_linux.cc) is a copy of a multithreaded
// process: it only makes system calls from this plan, never allocates or locks.
#pragma once

#include <linux/capability.h>
#include <linux/filter.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace imgbuild::builder::detail {

// Docker's default capabilities (moby/oci/caps/defaults.go).
inline constexpr struct {
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
  enum Type { kMount, kRemount, kMkdir, kMknod, kSymlink, kCreate, kSysfs, kSetAttr } type = kMount;
  std::string source, target, fstype, data;
  unsigned long flags = 0;
  mode_t mode = 0;
  dev_t dev = 0;
  uint64_t attr_set = 0, attr_clr = 0;  // kSetAttr: MOUNT_ATTR_* (flags: 0 or AT_RECURSIVE)
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
inline constexpr int32_t kReportError = 1, kReportExit = 2;
inline constexpr int kReportFd = 100;  // where the worker keeps the report pipe until exec

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
  int netns_fd = -1;  // >= 0: the network namespace to join (instead of a new one)
  int emu_fd = -1;    // >= 0: the emulator, registered by the command from binfmt_line
  std::string binfmt_line;
  size_t args_size = 0;  // of imgbuild's own command line
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  std::string cwd;
  std::vector<std::string> argv_s, env_s, candidates;
  std::vector<char*> argv, env;
  std::vector<sock_filter> seccomp;  // loaded last, with no_new_privs; empty: none (privileged)
  struct Limit {
    int resource;
    uint64_t soft, hard;
  };
  std::vector<Limit> rlimits;  // set before capabilities are dropped
};

// The sandbox's init: runs the plan's setup, then the command, and reports how it ended.
[[noreturn]] void SandboxChild(const ChildPlan& p);

}  // namespace imgbuild::builder::detail
