// Which platforms RUN emulates, and what it says when it cannot.
#include "builder/sandbox/emulation.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace imgbuild::builder {
namespace {

layers::Platform Foreign() {
  layers::Platform p;
  p.architecture = layers::Platform::Host().architecture == "arm64" ? "amd64" : "arm64";
  return p;
}

class EmulationPathsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char t[] = "/tmp/imgbuild-emu-XXXXXX";
    dir_ = mkdtemp(t);
    std::filesystem::create_directories(dir_ + "/binfmt.d");
    std::filesystem::create_directories(dir_ + "/host");
    paths_.binfmt_d = dir_ + "/binfmt.d";
    paths_.host_binfmt = dir_ + "/host";
    paths_.kernel_release = "6.18.0";
    qemu_ = "qemu-" + QemuArchitecture(Foreign().architecture);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_, qemu_;
  EmulationPaths paths_;
};

TEST(Emulation, NativePlatformsNeedNothing) {
  layers::Platform p = layers::Platform::Host();
  EXPECT_EQ(EmulationFor(p).kind, Emulation::Kind::kNative);
  p.architecture = "";
  EXPECT_EQ(EmulationFor(p).kind, Emulation::Kind::kNative);  // scratch-made, no platform
  if (layers::Platform::Host().architecture == "amd64") {
    p.architecture = "386";
    EXPECT_TRUE(RunsNatively(p));
  }
  EXPECT_EQ(QemuArchitecture("arm64"), "aarch64");
  EXPECT_EQ(QemuArchitecture("ppc64le"), "ppc64le");
  EXPECT_EQ(QemuArchitecture("386"), "i386");
  EXPECT_EQ(QemuArchitecture("wasm"), "");
}

TEST_F(EmulationPathsTest, DebiansRegistrationBecomesTheSandboxes) {
  std::ofstream(paths_.binfmt_d + "/" + qemu_ + ".conf")
      << ":" << qemu_ << ":M::\\x7fELF\\x02:\\xff\\xff\\xff\\xff\\xff:/bin/true:OPF\n";
  Emulation e = EmulationFor(Foreign(), paths_);
  EXPECT_EQ(e.kind, Emulation::Kind::kSandboxBinfmt);
  EXPECT_EQ(e.interpreter, "/bin/true");
  // The interpreter becomes a placeholder; flags P (argv[0] kept) and F (opened at registration).
  EXPECT_EQ(e.register_line, ":" + qemu_ + ":M::\\x7fELF\\x02:\\xff\\xff\\xff\\xff\\xff:%s:PF");
  // A registration naming a missing emulator, or not a registration at all, is an error.
  std::ofstream(paths_.binfmt_d + "/" + qemu_ + ".conf") << ":" << qemu_ << ":M::\\x7f:\\xff:/nonexistent/qemu:F\n";
  EXPECT_THROW(EmulationFor(Foreign(), paths_), EmulationError);
  std::ofstream(paths_.binfmt_d + "/" + qemu_ + ".conf") << "garbage\n";
  EXPECT_THROW(EmulationFor(Foreign(), paths_), EmulationError);
}

TEST_F(EmulationPathsTest, WithoutAnEmulatorTheErrorSaysWhatToInstall) {
  try {
    EmulationFor(Foreign(), paths_);
    FAIL() << "no emulator, no error";
  } catch (const EmulationError& e) {
    EXPECT_NE(std::string(e.what()).find("install qemu-user-static"), std::string::npos) << e.what();
  }
}

TEST_F(EmulationPathsTest, OlderKernelsUseTheHostsHandler) {
  paths_.kernel_release = "6.1.0-13-amd64";
  std::ofstream(paths_.binfmt_d + "/" + qemu_ + ".conf") << ":" << qemu_ << ":M::\\x7f:\\xff:/bin/true:OPF\n";
  try {
    EmulationFor(Foreign(), paths_);
    FAIL() << "no per-namespace binfmt_misc and no host handler, no error";
  } catch (const EmulationError& e) {
    EXPECT_NE(std::string(e.what()).find("older than 6.7"), std::string::npos) << e.what();
  }
  std::ofstream(paths_.host_binfmt + "/" + qemu_) << "enabled\ninterpreter /usr/bin/q\nflags: OCF\n";
  EXPECT_EQ(EmulationFor(Foreign(), paths_).kind, Emulation::Kind::kHostBinfmt);
  // Without F the host's handler would look for the emulator inside the image: not used.
  std::ofstream(paths_.host_binfmt + "/" + qemu_) << "enabled\ninterpreter /usr/bin/q\nflags: OC\n";
  EXPECT_THROW(EmulationFor(Foreign(), paths_), EmulationError);
}

}  // namespace
}  // namespace imgbuild::builder
