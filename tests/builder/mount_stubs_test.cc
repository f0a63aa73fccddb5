// Mount points made for a RUN and removed after it, leaving the rootfs as it was.
#include "builder/sandbox/mount_stubs.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

namespace imgbuild::builder {
namespace {

namespace fs = std::filesystem;

struct timespec Mtime(const std::string& p) {
  struct stat st;
  ::lstat(p.c_str(), &st);
  return st.st_mtim;
}

bool Same(const struct timespec& a, const struct timespec& b) { return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec; }

class MountStubsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char t[] = "/tmp/imgbuild-stubs-XXXXXX";
    root_ = mkdtemp(t);
    fs::create_directories(root_ + "/etc");
    fs::create_symlink("/real", root_ + "/link");
    fs::create_directories(root_ + "/real");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  void TearDown() override { fs::remove_all(root_); }
  std::string root_;
};

TEST_F(MountStubsTest, CreatesAndRemovesRestoringTimes) {
  auto root_time = Mtime(root_), etc_time = Mtime(root_ + "/etc");
  {
    MountStubs stubs(root_);
    EXPECT_EQ(stubs.Ensure("/proc", true), "proc");
    EXPECT_EQ(stubs.Ensure("/etc/hosts", false), "etc/hosts");
    EXPECT_EQ(stubs.Ensure("/run/secrets/tok", false), "run/secrets/tok");
    EXPECT_EQ(stubs.Ensure("/etc", true), "etc");  // exists: nothing to do
    EXPECT_TRUE(fs::is_directory(root_ + "/proc"));
    EXPECT_TRUE(fs::is_regular_file(root_ + "/etc/hosts"));
    EXPECT_TRUE(fs::is_directory(root_ + "/run/secrets"));
  }
  EXPECT_FALSE(fs::exists(root_ + "/proc"));
  EXPECT_FALSE(fs::exists(root_ + "/etc/hosts"));
  EXPECT_FALSE(fs::exists(root_ + "/run"));
  EXPECT_TRUE(Same(Mtime(root_), root_time));
  EXPECT_TRUE(Same(Mtime(root_ + "/etc"), etc_time));
}

TEST_F(MountStubsTest, SymlinksResolveInsideTheRoot) {
  MountStubs stubs(root_);
  EXPECT_EQ(stubs.Ensure("/link/dir", true), "real/dir");
  EXPECT_TRUE(fs::is_directory(root_ + "/real/dir"));
}

TEST_F(MountStubsTest, WhatTheStepWroteStays) {
  MountStubs stubs(root_);
  stubs.Ensure("/cache", true);
  stubs.Ensure("/etc/resolv.conf", false);
  std::ofstream(root_ + "/cache/kept") << "x";       // the step wrote into the mount point
  std::ofstream(root_ + "/etc/resolv.conf") << "x";  // or replaced the stub's content
  std::ofstream(root_ + "/etc/other") << "x";        // and touched the parent
  auto etc_time = Mtime(root_ + "/etc");
  stubs.Remove();
  EXPECT_TRUE(fs::exists(root_ + "/cache/kept"));
  EXPECT_TRUE(fs::exists(root_ + "/etc/resolv.conf"));
  EXPECT_TRUE(Same(Mtime(root_ + "/etc"), etc_time));  // not put back: the step changed it
}

}  // namespace
}  // namespace imgbuild::builder
