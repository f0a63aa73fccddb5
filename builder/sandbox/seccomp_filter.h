// The RUN sandbox's seccomp filter, equal in effect to Docker's default profile: the system calls
// that profile leaves out fail with EPERM (kernel modules, kexec, mount and the new mount API,
// namespaces — unshare, setns and clone with CLONE_NEW* —, keyrings, bpf, perf, ptrace-like
// memory access between processes, clock and swap changes, io_uring, AF_VSOCK sockets), clone3
// fails with ENOSYS so libc falls back to clone, where the flags can be checked. Built once in the
// parent with libseccomp and handed to the sandbox's child as a ready BPF program (the child may
// not allocate).
#pragma once

#include <linux/filter.h>

#include <vector>

namespace imgbuild::builder {

// The filter for the native architecture and its compat ones (i386 and x32 on x86_64, arm on
// aarch64). Throws layers::SysError when libseccomp fails.
const std::vector<sock_filter>& DefaultSeccompProgram();

// The system calls the filter refuses (names, for the README and tests).
const std::vector<const char*>& DeniedSyscalls();

}  // namespace imgbuild::builder
