#include "builder/sandbox/seccomp_filter.h"

#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <initializer_list>
#include <memory>
#include <mutex>

#include "layers/sys_error.h"

namespace imgbuild::builder {
namespace {

struct CtxDeleter {
  void operator()(scmp_filter_ctx c) const { seccomp_release(c); }
};

void Check(int rc, const char* what) {
  if (rc < 0) throw layers::SysError("seccomp " + std::string(what), "the RUN sandbox filter", -rc);
}

// A rule for a name this libseccomp or architecture may not know: skipped then.
void Deny(scmp_filter_ctx ctx, const char* name, int err, unsigned count = 0, const scmp_arg_cmp* args = nullptr) {
  int nr = seccomp_syscall_resolve_name(name);
  if (nr == __NR_SCMP_ERROR) return;
  int rc = seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(static_cast<uint32_t>(err)), nr, count, args);
  if (rc == -EDOM || rc == -EINVAL) return;  // not on this architecture
  Check(rc, name);
}

std::vector<sock_filter> Build() {
  std::unique_ptr<void, CtxDeleter> ctx(seccomp_init(SCMP_ACT_ALLOW));
  if (!ctx) throw layers::SysError("seccomp_init", "the RUN sandbox filter", ENOMEM);
  scmp_filter_ctx c = ctx.get();
  const uint32_t native = seccomp_arch_native();
  if (native == SCMP_ARCH_X86_64) {
    seccomp_arch_add(c, SCMP_ARCH_X86);
    seccomp_arch_add(c, SCMP_ARCH_X32);
  } else if (native == SCMP_ARCH_AARCH64) {
    seccomp_arch_add(c, SCMP_ARCH_ARM);
  }
  for (const char* name : DeniedSyscalls()) Deny(c, name, EPERM);
  // Namespaces through clone: each CLONE_NEW* flag set is refused.
  for (scmp_datum_t flag : std::initializer_list<scmp_datum_t>{CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER,
                                                               CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP, CLONE_NEWTIME}) {
    scmp_arg_cmp arg = SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag);
    Deny(c, "clone", EPERM, 1, &arg);
  }
  Deny(c, "clone3", ENOSYS);  // its flags are in memory, out of seccomp's reach: libc then uses clone
  scmp_arg_cmp vsock = SCMP_A0(SCMP_CMP_EQ, 40);  // AF_VSOCK: the host's hypervisor sockets
  Deny(c, "socket", EPERM, 1, &vsock);
  Check(seccomp_attr_set(c, SCMP_FLTATR_CTL_NNP, 0), "attr");  // the sandbox sets no_new_privs itself

  int fd = ::memfd_create("imgbuild-seccomp", MFD_CLOEXEC);
  if (fd < 0) throw layers::SysError("memfd_create", "the RUN sandbox filter");
  layers::UniqueFd mem(fd);
  Check(seccomp_export_bpf(c, mem.get()), "export");
  off_t size = ::lseek(mem.get(), 0, SEEK_END);
  if (size <= 0 || size % static_cast<off_t>(sizeof(sock_filter)) != 0) {
    throw layers::SysError("seccomp export", "the RUN sandbox filter", EINVAL);
  }
  std::vector<sock_filter> program(static_cast<size_t>(size) / sizeof(sock_filter));
  if (::pread(mem.get(), program.data(), static_cast<size_t>(size), 0) != size) {
    throw layers::SysError("read", "the RUN sandbox filter");
  }
  return program;
}

}  // namespace

const std::vector<const char*>& DeniedSyscalls() {
  static const std::vector<const char*> names = {
      "acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "clock_settime64", "create_module",
      "delete_module", "finit_module", "fsconfig", "fsmount", "fsopen", "fspick", "get_kernel_syms",
      "get_mempolicy", "init_module", "io_uring_enter", "io_uring_register", "io_uring_setup", "ioperm", "iopl",
      "kcmp", "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie", "mbind", "mount", "mount_setattr",
      "move_mount", "move_pages", "name_to_handle_at", "nfsservctl", "open_by_handle_at", "open_tree",
      "perf_event_open", "pivot_root", "process_vm_readv", "process_vm_writev", "query_module", "quotactl",
      "quotactl_fd", "reboot", "request_key", "set_mempolicy", "setns", "settimeofday", "stime", "swapoff",
      "swapon", "sysfs", "_sysctl", "umount", "umount2", "unshare", "uselib", "userfaultfd", "ustat", "vm86",
      "vm86old"};
  return names;
}

const std::vector<sock_filter>& DefaultSeccompProgram() {
  static std::once_flag once;
  static std::vector<sock_filter> program;
  std::call_once(once, [] { program = Build(); });
  return program;
}

}  // namespace imgbuild::builder
