/* Runs inside a RUN step (copied into the image, linked statically) and tries what a step must
 * not be able to do. Prints one line per attempt: "NAME refused (errno text)" or "NAME ALLOWED";
 * the sandbox test reads the lines. Each attempt is harmless if it succeeds where it may. */
#include <errno.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <initializer_list>

void report(const char* name, long rc) {
  if (rc < 0) {
    printf("%s refused (%s)\n", name, strerror(errno));
  } else {
    printf("%s ALLOWED\n", name);
  }
}

/* probe net PORT NAME: a TCP service of the host on 127.0.0.1:PORT and an abstract unix socket
 * "@NAME" of the host, both listening: the step must reach neither. */
int Net(const char* port, const char* name) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in in = {};
  in.sin_family = AF_INET;
  in.sin_port = htons(static_cast<uint16_t>(atoi(port)));
  in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  report("connect-host-loopback", connect(s, reinterpret_cast<sockaddr*>(&in), sizeof in));
  int u = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un un = {};
  un.sun_family = AF_UNIX;
  size_t len = strlen(name);
  memcpy(un.sun_path + 1, name, len);
  report("connect-host-abstract", connect(u, reinterpret_cast<sockaddr*>(&un),
                                          static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + len)));
  return 0;
}

int main(int argc, char** argv) {
  if (argc == 4 && strcmp(argv[1], "net") == 0) return Net(argv[2], argv[3]);
  const char* host_file = argc > 1 ? argv[1] : "/nonexistent";
  /* Attempts that change the process when they succeed run in a child of their own. */
  for (int flag : {CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET}) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
      report(flag == CLONE_NEWUSER ? "unshare-user" : flag == CLONE_NEWNS ? "unshare-mount" : "unshare-net", unshare(flag));
      fflush(stdout);
      _exit(0);
    }
    waitpid(pid, nullptr, 0);
  }
  {
    long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, 0);
    if (pid == 0) _exit(0);
    if (pid > 0) waitpid(static_cast<pid_t>(pid), nullptr, 0);
    report("clone-newuser", pid);
  }
  fflush(stdout);
  if (fork() == 0) {
    report("setns", syscall(SYS_setns, open("/proc/self/ns/net", O_RDONLY), 0) == 0 ? 0 : -1);
    fflush(stdout);
    _exit(0);
  }
  wait(nullptr);
  report("mount", mount("none", "/mnt", "tmpfs", 0, 0));
  report("keyctl-session", syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0));
  report("keyctl-user", syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0));
  report("add_key", syscall(SYS_add_key, "user", "imgbuild-probe", "x", 1, KEY_SPEC_SESSION_KEYRING));
  report("request_key", syscall(SYS_request_key, "user", "imgbuild-test-secret", 0, 0));
  report("bpf", syscall(SYS_bpf, 0, 0, 0));
  report("perf_event_open", syscall(SYS_perf_event_open, 0, 0, -1, -1, 0));
  report("init_module", syscall(SYS_init_module, 0, 0, ""));
  report("kexec_load", syscall(SYS_kexec_load, 0, 0, 0, 0));
  report("open_by_handle_at", syscall(SYS_open_by_handle_at, AT_FDCWD, 0, 0));
  report("userfaultfd", syscall(SYS_userfaultfd, 0));
  report("io_uring_setup", syscall(SYS_io_uring_setup, 1, 0));
  report("swapon", syscall(SYS_swapon, "/nonexistent", 0));
  report("reboot", syscall(SYS_reboot, 0, 0, 0, 0));
  report("settimeofday", syscall(SYS_settimeofday, 0, 0));
  {
    char buf[4];
    struct iovec local = {buf, sizeof buf}, remote = {reinterpret_cast<void*>(0x400000), sizeof buf};
    report("process_vm_readv", syscall(SYS_process_vm_readv, 1, &local, 1, &remote, 1, 0));
  }
  report("ptrace-init", ptrace(PTRACE_ATTACH, 1, 0, 0));
  /* A host process (the test's own pid): not in the sandbox's pid namespace. */
  report("kill-host-process", kill(argc > 2 ? atoi(argv[2]) : 999999, SIGTERM));
  /* Devices made here cannot be opened: the numbers of /dev/null and /dev/zero, which exist on
   * every host, stand for /dev/sda or /dev/mem (an open that fails shows the restriction). */
  mknod("/tmp/probe-null", S_IFCHR | 0600, makedev(1, 3));
  report("open-mknod-block", open("/tmp/probe-null", O_RDONLY));
  mknod("/dev/probe-zero", S_IFCHR | 0600, makedev(1, 5));
  report("open-mknod-dev", open("/dev/probe-zero", O_RDONLY));
  /* The host through /proc and /sys. */
  report("open-host-file", open(host_file, O_RDONLY));
  {
    char path[4200];
    snprintf(path, sizeof path, "/proc/1/root%s", host_file);
    report("proc1-root-host-file", open(path, O_RDONLY));
  }
  report("write-sys", open("/sys/kernel/uevent_helper", O_WRONLY));
  report("write-proc-sysrq", open("/proc/sysrq-trigger", O_WRONLY));
  {
    int fd = open("/proc/kcore", O_RDONLY);
    char c;
    long n = fd < 0 ? -1 : read(fd, &c, 1);
    if (n == 0) errno = ENODATA;
    report("read-proc-kcore", n > 0 ? 0 : -1);
  }
  report("socket-vsock", socket(40, SOCK_STREAM, 0));
  return 0;
}
