#include "builder/sandbox/user_network.h"

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <exception>
#include <sstream>

#include "layers/subprocess.h"
#include "layers/sys_error.h"

namespace imgbuild::builder {

std::string PrivateResolvConf(const std::string& host_resolv, bool* forwarded) {
  *forwarded = false;
  std::istringstream in(host_resolv);
  std::string line, out;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string key, addr;
    words >> key >> addr;
    if (key == "nameserver" && (addr.rfind("127.", 0) == 0 || addr == "::1")) {
      if (!*forwarded) out += std::string("nameserver ") + kForwardedDnsAddress + "\n";
      *forwarded = true;
      continue;
    }
    out += line + "\n";
  }
  return out;
}

namespace {

// Brings the loopback interface of the calling thread's network namespace up.
void LoopbackUp() {
  layers::UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s) throw layers::SysError("socket", "the build network's loopback");
  struct ifreq ifr {};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(s.get(), SIOCGIFFLAGS, &ifr) != 0) throw layers::SysError("SIOCGIFFLAGS", "lo");
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
  if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0) throw layers::SysError("SIOCSIFFLAGS", "lo");
}

// A new network namespace, bound onto `file`: made by this thread alone (unshare affects the
// calling thread only), which then goes back to the namespace it was in.
void MakeNamespace(const std::string& file) {
  layers::UniqueFd f(::open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!f) throw layers::SysError("create", file);
  f.Reset();
  layers::UniqueFd home(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!home) throw layers::SysError("open", "/proc/thread-self/ns/net");
  if (::unshare(CLONE_NEWNET) != 0) throw layers::SysError("unshare", "a network namespace for the build");
  std::exception_ptr failed;
  try {
    LoopbackUp();
    if (::mount("/proc/thread-self/ns/net", file.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      throw layers::SysError("bind the build's network namespace", file);
    }
  } catch (...) {
    failed = std::current_exception();
  }
  if (::setns(home.get(), CLONE_NEWNET) != 0) {
    // The thread cannot go back: nothing it does later may run in the wrong namespace.
    std::abort();
  }
  if (failed) std::rethrow_exception(failed);
}

}  // namespace

UserNetwork::UserNetwork(const std::string& dir, bool forward_dns)
    : ns_file_(dir + "/netns"), pid_file_(dir + "/pasta.pid") {
  try {
    MakeNamespace(ns_file_);
  } catch (...) {
    ::unlink(ns_file_.c_str());
    throw;
  }
  ns_fd_ = ::open(ns_file_.c_str(), O_RDONLY | O_CLOEXEC);
  if (ns_fd_ < 0) {
    int err = errno;
    Release();
    throw layers::SysError("open", ns_file_, err);
  }
  std::vector<std::string> argv = {"pasta", "--config-net", "--quiet", "--no-map-gw", "-t", "none", "-u", "none",
                                   "-T", "none", "-U", "none", "--runas", "0:0", "-P", pid_file_, "--netns", ns_file_};
  if (forward_dns) {
    argv.insert(argv.end() - 2, {"--dns-forward", kForwardedDnsAddress});
  }
  layers::ProgramResult r;
  try {
    r = layers::RunProgram(argv);
  } catch (const layers::SysError& e) {
    Release();
    if (e.error() == ENOENT) {
      throw layers::Error("build sandbox: the default network needs pasta, which is not installed (Debian "
                          "package passt; scripts/setup.sh installs it); or build with --network=none");
    }
    throw;
  }
  if (r.exit_code != 0) {
    Release();
    std::string why = r.err.empty() ? r.out : r.err;
    while (!why.empty() && why.back() == '\n') why.pop_back();
    throw layers::SysError("build sandbox: pasta could not connect the step's network (" + why + ")", ns_file_, EIO);
  }
}

UserNetwork::~UserNetwork() { Release(); }

void UserNetwork::Release() noexcept {
  StopPasta(pid_file_, /*wait_for_file=*/true);
  if (ns_fd_ >= 0) ::close(ns_fd_);
  ns_fd_ = -1;
  ::unlink(pid_file_.c_str());
  ::umount2(ns_file_.c_str(), MNT_DETACH);
  ::unlink(ns_file_.c_str());
}

void StopPasta(const std::string& pid_file, bool wait_for_file) noexcept {
  try {
    // pasta's daemon writes its pid file itself, maybe after the command that started it ended.
    std::string text;
    for (int i = 0; text.empty(); ++i) {
      try {
        text = layers::ReadFile(pid_file);
      } catch (const layers::SysError&) {
        if (!wait_for_file || i >= 100) return;
      }
      if (text.empty()) ::usleep(5000);
    }
    pid_t pid = static_cast<pid_t>(std::stol(text));
    // Only the pasta this network started (a pid is reused once its process is gone); it runs
    // as pasta, passt or passt.avx2.
    std::string comm = layers::ReadFile("/proc/" + std::to_string(pid) + "/comm");
    if (pid <= 1 || (comm.rfind("pasta", 0) != 0 && comm.rfind("passt", 0) != 0)) return;
    if (::kill(pid, SIGTERM) != 0) return;
    // Gone (or a zombie its new parent reaps) before the build counts as done, for up to 2 s.
    const std::string stat = "/proc/" + std::to_string(pid) + "/stat";
    for (int i = 0; i < 2000; ++i) {
      std::string st;
      try {
        st = layers::ReadFile(stat);
      } catch (const std::exception&) {
        return;
      }
      size_t paren = st.rfind(')');
      if (paren == std::string::npos || paren + 2 >= st.size() || st[paren + 2] == 'Z') return;
      ::usleep(1000);
    }
  } catch (const std::exception&) {
    // pasta never started, or is gone
  }
}

}  // namespace imgbuild::builder
