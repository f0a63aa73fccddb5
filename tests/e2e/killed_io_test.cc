// `save`, exports and `load` killed with SIGKILL at any moment leave nothing that the next one
// does not remove (issue 12, item 22): their scratch copies hold a lock while they live.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "busybox_fixture.h"
#include "layers/sys_error.h"

namespace imgbuild::testing {
namespace {

namespace fs = std::filesystem;

using KilledIoTest = BusyboxTest;

// Starts imgbuild with `args` and kills it after `delay_ms`.
void RunAndKill(const std::string& args, int delay_ms) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sh", "sh", "-c", ("exec " + std::string(IMGBUILD_BINARY) + " " + args + " >/dev/null 2>&1").c_str(),
            nullptr);
    ::_exit(127);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

// Names in `dir` that are scratch of ours.
std::vector<std::string> Scratch(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string n = e.path().filename();
    if (n.find(".imgbuild-") != std::string::npos || n.rfind("import-", 0) == 0 || n.rfind("ingest-", 0) == 0 || n.find(".tmp") != std::string::npos)
      out.push_back(n);
  }
  return out;
}

TEST_F(KilledIoTest, KilledSaveAndLoadLeaveNothingBehind) {
  std::string out = dir_ + "/out";
  fs::create_directories(out);
  ASSERT_EQ(RunImgbuild("save --root " + root_ + " busybox:local -o " + out + "/keep.tar").code, 0);
  for (int delay : {0, 5, 15, 30, 60, 100}) {
    RunAndKill("save --root " + root_ + " busybox:local -o " + out + "/bb.tar --compression gzip", delay);
    RunAndKill("build --root " + root_ + " -o type=tar,dest=" + out + "/rootfs.tar " + dir_ + "/busybox", delay);
    RunAndKill("load --root " + root_ + " -i " + out + "/keep.tar", delay);
  }
  // A live export's scratch is never taken for a dead one's.
  fs::create_directories(out + "/.live.tar.imgbuild-1");
  layers::UniqueFd held(::open((out + "/.live.tar.imgbuild-1/.lock").c_str(), O_RDWR | O_CREAT, 0600));
  ASSERT_EQ(::flock(held.get(), LOCK_EX), 0);
  ASSERT_EQ(RunImgbuild("save --root " + root_ + " busybox:local -o " + out + "/bb.tar").code, 0);
  ASSERT_EQ(RunImgbuild("build --root " + root_ + " -o type=tar,dest=" + out + "/rootfs.tar " + dir_ + "/busybox").code, 0);
  ASSERT_EQ(RunImgbuild("load --root " + root_ + " -i " + out + "/keep.tar").code, 0);
  EXPECT_EQ(Scratch(out), std::vector<std::string>{".live.tar.imgbuild-1"}) << Sh("ls -laR " + out + " | head -30");
  EXPECT_EQ(Scratch(root_ + "/tmp"), std::vector<std::string>{});
}

}  // namespace
}  // namespace imgbuild::testing
