// Security: the RUN sandbox confines as Docker's default does (issue 12, items 7-11). A static
// probe (sandbox_probe.cc) runs inside RUN and tries namespaces, mounts, keyrings, kernel modules,
// bpf, perf, ptrace and signals to init, devices made with mknod, the host through /proc/1/root,
// writes to /sys and /proc; every attempt must be refused. What a build needs (the standard
// devices, ptys) still works.
#include <gtest/gtest.h>
#include <linux/keyctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "../e2e/busybox_fixture.h"

namespace imgbuild::testing {
namespace {

namespace fs = std::filesystem;

using SandboxEscapeTest = BusyboxTest;

TEST_F(SandboxEscapeTest, EveryEscapeAttemptIsRefused) {
  std::string ctx = dir_ + "/probe";
  fs::create_directories(ctx);
  fs::copy_file(SANDBOX_PROBE, ctx + "/probe");
  std::string host_file = dir_ + "/host-secret.txt";
  std::ofstream(host_file) << "host secret\n";
  // A key in the invoking session's keyring: the step must not find it.
  ::syscall(SYS_add_key, "user", "imgbuild-test-secret", "s3cret", 6, KEY_SPEC_SESSION_KEYRING);
  RunResult r = Build("probe", "FROM busybox:local\nCOPY probe /probe\nRUN /probe " + host_file + "\n");
  ASSERT_EQ(r.code, 0) << r.err;
  const char* attempts[] = {
      "unshare-user", "unshare-mount", "unshare-net", "clone-newuser", "setns", "mount", "keyctl-session",
      "keyctl-user", "add_key", "request_key", "bpf", "perf_event_open", "init_module", "kexec_load",
      "open_by_handle_at", "userfaultfd", "io_uring_setup", "swapon", "reboot", "settimeofday",
      "process_vm_readv", "ptrace-init", "kill-host-process", "open-mknod-block", "open-mknod-dev", "open-host-file",
      "proc1-root-host-file", "write-sys", "write-proc-sysrq", "read-proc-kcore", "socket-vsock"};
  for (const char* a : attempts) {
    EXPECT_NE(r.err.find(std::string(" ") + a + " refused"), std::string::npos) << a << " was not refused:\n" << r.err;
  }
  EXPECT_EQ(r.err.find("ALLOWED"), std::string::npos) << r.err;
}

TEST_F(SandboxEscapeTest, WhatABuildNeedsStillWorks) {
  RunResult r = Build("needs", "FROM busybox:local\n"
                               "RUN echo x > /dev/null && head -c 8 /dev/urandom | wc -c && head -c 8 /dev/zero | wc -c"
                               " && test -c /dev/pts/ptmx && test -c /dev/tty\n"
                               "RUN grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status\n"
                               // a device node can still be made (it is data of the layer), as in Docker
                               "RUN mknod /dev-node c 1 3 && test -c /dev-node\n");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("NoNewPrivs:\t1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Seccomp:\t2"), std::string::npos) << r.err;
}

// Item 11: a read-only bind is read-only all the way down, so a filesystem mounted inside the
// context cannot be written through it.
TEST_F(SandboxEscapeTest, ReadOnlyBindsAreRecursive) {
  std::string ctx = dir_ + "/robind";
  fs::create_directories(ctx + "/inner");
  int code;
  std::string out = Sh("mount -t tmpfs -o size=1m tmpfs " + ctx + "/inner", &code);
  ASSERT_EQ(code, 0) << out;
  RunResult r = Build("robind", "FROM busybox:local\nRUN --mount=type=bind,target=/ctx "
                                "touch /ctx/inner/planted && echo W$((1))ROTE || echo re$((1))fused\n");
  Sh("umount " + ctx + "/inner");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("re1fused"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("W1ROTE"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace imgbuild::testing
