// The fixture of the end-to-end tests: a temporary directory with its own state dir (--root)
// holding busybox:local, made from Debian's busybox-static; whatever a test leaves mounted below
// its directory is unmounted and the directory removed, however the test ends.
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "run_util.h"

namespace imgbuild::testing {

// A TCP port on 127.0.0.1 that nothing listens on now (for servers a test starts).
inline int FreePort() {
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(s);
  return ntohs(a.sin_port);
}

class BusyboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "image builds need root (ownership, overlay views)";
    char t[] = "/tmp/imgbuild-e2e-XXXXXX";
    dir_ = mkdtemp(t);
    root_ = dir_ + "/root";
    int code;
    std::string out = Sh(std::string(IMGBUILD_SOURCE_DIR) + "/testdata/busybox/make-context.sh " + dir_ + "/busybox", &code);
    ASSERT_EQ(code, 0) << out;
    RunResult r = RunImgbuild("build --root " + root_ + " -t busybox:local " + dir_ + "/busybox");
    ASSERT_EQ(r.code, 0) << r.err;
  }
  void TearDown() override {
    if (dir_.empty()) return;
    RemoveTestDir(dir_);
  }
  // Writes DIR/NAME/Buildfile and builds it (plain progress, sandboxes without network).
  RunResult Build(const std::string& name, const std::string& buildfile, const std::string& args = "",
                  const std::string& env = "") {
    std::string ctx = dir_ + "/" + name;
    std::filesystem::create_directories(ctx);
    std::ofstream(ctx + "/Buildfile") << buildfile;
    return RunImgbuild("build --progress=plain --network=none --root " + root_ + " " + args + " " + ctx, "", env);
  }
  // The diff_ids of the image `name` in the store of `root`.
  std::vector<std::string> DiffIds(const std::string& root, const std::string& name) {
    RunResult r = RunImgbuild("inspect --format '{{json .RootFS.Layers}}' --root " + root + " " + name);
    EXPECT_EQ(r.code, 0) << r.err;
    try {
      return nlohmann::json::parse(r.out).get<std::vector<std::string>>();
    } catch (const std::exception&) {
      ADD_FAILURE() << r.out;
      return {};
    }
  }
  std::string dir_, root_;
};

// "mode uid:gid path -> target" for every file of an unpacked rootfs.
inline std::map<std::string, std::string> Listing(const std::string& rootfs) {
  std::map<std::string, std::string> out;
  std::istringstream in(Sh("cd " + rootfs + " && find . -mindepth 1 -printf '%p %M %U:%G %l\\n'"));
  std::string line;
  while (std::getline(in, line)) {
    size_t sp = line.find(' ');
    out[line.substr(2, sp - 2)] = line.substr(sp + 1);
  }
  return out;
}

}  // namespace imgbuild::testing
