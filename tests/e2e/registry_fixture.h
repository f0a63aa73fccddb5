// The registry tests' fixture: a busybox state dir and Debian's docker-registry started on
// 127.0.0.1 (plain HTTP, a port of its own), skopeo, and fault proxies in front of the registry
// (tests/e2e/fault_proxy.py). Shared by the registry test files; one fixture type for all of them.
#pragma once

#include <gtest/gtest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "busybox_fixture.h"
#include "local_registry.h"
#include "run_util.h"

namespace imgbuild::testing {

namespace fs = std::filesystem;

// In a forked child: standard output and error to `log` (the registry's own messages).
inline void Quiet(const std::string& log) {
  int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd >= 0) {
    ::dup2(fd, 1);
    ::dup2(fd, 2);
  }
}

class RegistryTest : public BusyboxTest {
 protected:
  void SetUp() override {
    BusyboxTest::SetUp();
    if (::geteuid() != 0) return;
    ::setenv("IMGBUILD_HTTP_BACKOFF_MS", "20", 1);  // retries as in production, waits shorter
    std::string problem = registry_.Start(dir_);
    ASSERT_EQ(problem, "");
    host_ = registry_.host();
  }
  void TearDown() override {
    for (pid_t p : proxies_) {
      ::kill(p, SIGKILL);
      ::waitpid(p, nullptr, 0);
    }
    registry_.Stop();
    BusyboxTest::TearDown();
  }
  std::string Skopeo(const std::string& args, int* code) { return Sh("skopeo " + args, code); }
  // A fault proxy in front of the registry (tests/e2e/fault_proxy.py); returns its host:port.
  std::string Proxy(const std::string& plan, const std::string& asked_file = "") {
    int port = FreePort();
    std::string target = host_.substr(host_.find(':') + 1);
    pid_t pid = ::fork();
    if (pid == 0) {
      std::string script = std::string(IMGBUILD_SOURCE_DIR) + "/tests/e2e/fault_proxy.py";
      ::execl("/usr/bin/python3", "python3", script.c_str(), std::to_string(port).c_str(), target.c_str(), plan.c_str(),
              asked_file.empty() ? nullptr : asked_file.c_str(), nullptr);
      ::_exit(127);
    }
    proxies_.push_back(pid);
    for (int i = 0; i < 100; ++i) {
      int s = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      a.sin_port = htons(static_cast<uint16_t>(port));
      bool up = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      ::close(s);
      if (up) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    // The proxy took that probe connection as its first: a plan starts with a spare "ok".
    return "127.0.0.1:" + std::to_string(port);
  }
  std::string host_;
  LocalRegistry registry_;
  std::vector<pid_t> proxies_;
};


}  // namespace imgbuild::testing
