// The sandbox on its own, on a tiny busybox rootfs: exit statuses, output, users, mounts, setup
// errors, cancellation, and the rootfs left as it was found.
#include "builder/sandbox/sandbox.h"

#include <gtest/gtest.h>

#include <thread>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "layers/sys_error.h"

namespace imgbuild::builder {
namespace {

namespace fs = std::filesystem;

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "the sandbox needs root (namespaces, mounts)";
    if (!fs::exists("/bin/busybox")) GTEST_SKIP() << "needs busybox-static (scripts/setup.sh installs it)";
    char t[] = "/tmp/imgbuild-sandbox-XXXXXX";
    dir_ = mkdtemp(t);
    root_ = dir_ + "/rootfs";
    fs::create_directories(root_ + "/bin");
    fs::copy_file("/bin/busybox", root_ + "/bin/busybox");
    for (const char* applet : {"sh", "echo", "sleep", "id", "cat", "ls", "pwd", "hostname", "grep", "touch", "wc"}) {
      fs::create_symlink("busybox", root_ + "/bin/" + applet);
    }
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  SandboxResult Run(SandboxSpec spec, std::string* out = nullptr, std::function<bool()> cancelled = nullptr) {
    spec.rootfs = root_;
    spec.network = SandboxNetwork::kNone;
    if (spec.env.empty()) spec.env = {"PATH=/bin"};
    return RunSandbox(
        spec, [&](std::string_view d) { if (out) out->append(d); }, cancelled);
  }
  std::string dir_, root_;
};

TEST_F(SandboxTest, ExitStatusAndOutput) {
  SandboxSpec s;
  s.argv = {"sh", "-c", "echo out; echo err >&2; exit 7"};
  std::string out;
  SandboxResult r = Run(s, &out);
  EXPECT_EQ(r.exit_code, 7);
  EXPECT_EQ(r.signal, 0);
  EXPECT_EQ(out, "out\nerr\n");
  s.argv = {"sh", "-c", "kill -9 $$"};
  r = Run(s);
  EXPECT_EQ(r.signal, 9);
  EXPECT_EQ(r.exit_code, 137);
}

TEST_F(SandboxTest, UserCwdEnv) {
  fs::create_directories(root_ + "/work");
  SandboxSpec s;
  s.argv = {"sh", "-c", "id -u; id -g; id -G; pwd; echo $FOO; cat < /dev/null; echo stdin-empty"};
  s.uid = 1234;
  s.gid = 567;
  s.groups = {50, 60};
  s.cwd = "/work";
  s.env = {"PATH=/bin", "FOO=bar"};
  std::string out;
  EXPECT_EQ(Run(s, &out).exit_code, 0);
  EXPECT_EQ(out, "1234\n567\n567 50 60\n/work\nbar\nstdin-empty\n");  // id -G: primary first
}

TEST_F(SandboxTest, MountsAndTheRootfsLeftAsFound) {
  fs::create_directories(dir_ + "/host/sub");
  std::ofstream(dir_ + "/host/sub/f") << "host file\n";
  struct stat before;
  ::stat(root_.c_str(), &before);
  SandboxSpec s;
  s.argv = {"sh", "-c", "cat /in/sub/f; touch /in/x 2>/dev/null || echo ro; echo t > /tmp/t && cat /tmp/t; "
                        "cat /etc/hostname"};
  s.mounts.push_back({SandboxMount::Kind::kBind, dir_ + "/host", "/in", true});
  SandboxMount tmp;
  tmp.kind = SandboxMount::Kind::kTmpfs;
  tmp.target = "/tmp";
  s.mounts.push_back(tmp);
  std::ofstream(dir_ + "/hostname") << "sandboxhost\n";
  s.hostname_file = dir_ + "/hostname";
  std::string out;
  EXPECT_EQ(Run(s, &out).exit_code, 0);
  EXPECT_EQ(out, "host file\nro\nt\nsandboxhost\n");
  // Only what was there before: bin.
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(root_)) names.push_back(e.path().filename());
  EXPECT_EQ(names, std::vector<std::string>{"bin"});
  struct stat after;
  ::stat(root_.c_str(), &after);
  EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
  EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
}

TEST_F(SandboxTest, SetupErrorsNameTheCall) {
  SandboxSpec s;
  s.argv = {"no-such-command"};
  try {
    Run(s);
    FAIL() << "expected a SysError";
  } catch (const layers::SysError& e) {
    EXPECT_EQ(std::string(e.what()), "build sandbox: exec no-such-command: No such file or directory");
  }
  s.argv = {"true"};
  s.cwd = "/missing";
  try {
    Run(s);
    FAIL() << "expected a SysError";
  } catch (const layers::SysError& e) {
    EXPECT_NE(std::string(e.what()).find("chdir"), std::string::npos) << e.what();
  }
}

TEST_F(SandboxTest, CancelKillsEverything) {
  SandboxSpec s;
  s.argv = {"sh", "-c", "sleep 300 & sleep 301"};
  auto t0 = std::chrono::steady_clock::now();
  SandboxResult r = Run(s, nullptr, [&] { return std::chrono::steady_clock::now() - t0 > std::chrono::milliseconds(300); });
  EXPECT_TRUE(r.cancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  // Gone (the kernel kills the namespace's processes with its init; give a loaded machine 2 s).
  bool alive = true;
  for (int i = 0; i < 40 && (alive = std::system("pgrep -x -f 'sleep 30[01]' >/dev/null") == 0); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_FALSE(alive) << std::system("ps -eo pid,ppid,stat,args | grep '[s]leep 30' >&2");
}

TEST_F(SandboxTest, DefaultCapabilities) {
  EXPECT_EQ(DefaultCapabilityNames().size(), 14u);
  SandboxSpec s;
  s.argv = {"grep", "-E", "^Cap(Eff|Bnd)", "/proc/self/status"};
  std::string out;
  EXPECT_EQ(Run(s, &out).exit_code, 0);
  EXPECT_EQ(out, "CapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\n");
  s.uid = 1000;
  out.clear();
  Run(s, &out);
  EXPECT_EQ(out, "CapEff:\t0000000000000000\nCapBnd:\t00000000a80425fb\n");
}

}  // namespace
}  // namespace imgbuild::builder
