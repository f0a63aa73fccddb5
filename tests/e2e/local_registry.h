// Debian's docker-registry, started by a test on 127.0.0.1 (plain HTTP, a free port) with its
// storage under the test's directory, and stopped with it.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "busybox_fixture.h"
#include "run_util.h"

namespace imgbuild::testing {

class LocalRegistry {
 public:
  LocalRegistry() = default;
  LocalRegistry(const LocalRegistry&) = delete;
  LocalRegistry& operator=(const LocalRegistry&) = delete;
  ~LocalRegistry() { Stop(); }

  // Starts it with its files under `dir`; returns "" or what went wrong.
  std::string Start(const std::string& dir) {
    if (!std::filesystem::exists("/usr/bin/docker-registry")) return "docker-registry missing (scripts/setup.sh installs it)";
    host_ = "127.0.0.1:" + std::to_string(FreePort());
    std::ofstream(dir + "/registry.yml") << "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
                                            "    rootdirectory: " << dir << "/registry-data\nhttp:\n  addr: " << host_ << "\n";
    pid_ = ::fork();
    if (pid_ == 0) {
      int fd = ::open((dir + "/registry.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      ::execl("/usr/bin/docker-registry", "docker-registry", "serve", (dir + "/registry.yml").c_str(), nullptr);
      ::_exit(127);
    }
    int code = 1;
    for (int i = 0; i < 100 && code != 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      Sh("python3 -c 'import urllib.request; urllib.request.urlopen(\"http://" + host_ + "/v2/\")'", &code);
    }
    return code == 0 ? "" : "the registry did not start on " + host_;
  }
  void Stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  const std::string& host() const { return host_; }

 private:
  std::string host_;
  pid_t pid_ = -1;
};

}  // namespace imgbuild::testing
