// RUN of another platform's binaries (issue 15): Debian's qemu-user-static registered in a
// binfmt_misc instance of the sandbox's own user namespace, with nothing done to the host.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "foreign_busybox.h"
#include "run_util.h"

namespace imgbuild::testing {
namespace {

class EmulationTest : public ForeignBusyboxTest {
 protected:
  // Builds BUILDFILE for PLATFORM and returns the image's files under DIR/NAME-out.
  std::string BuildOut(const std::string& name, const std::string& buildfile, const std::string& platform) {
    std::string out = dir_ + "/" + name + "-out";
    RunResult r = Build(name, buildfile, "--platform " + platform + " -t " + name + ":1 -o type=local,dest=" + out);
    EXPECT_EQ(r.code, 0) << r.err;
    return out;
  }
};

TEST_F(EmulationTest, ForeignRunStepsRunUnderTheirEmulator) {
  if (Sh("uname -m") != "x86_64\n") GTEST_SKIP() << "the foreign bases are arm64 and armhf: this host runs them natively";
  std::string hosts_before = Sh("ls /proc/sys/fs/binfmt_misc 2>/dev/null");
  const std::string buildfile =
      "FROM busybox:BASE\n"
      "RUN uname -m > /arch && sh -c 'echo $0' > /argv0\n"
      "USER app\n"
      "RUN id -u > /tmp/uid && ls /proc/sys/fs/binfmt_misc > /tmp/handlers\n";
  struct Case {
    std::string base, platform, machine, handler;
  } cases[] = {{"arm64", "linux/arm64", "aarch64", "qemu-aarch64"}, {"armv7", "linux/arm/v7", "armv7l", "qemu-arm"}};
  for (const Case& c : cases) {
    std::string text = buildfile;
    text.replace(text.find("BASE"), 4, c.base);
    std::string out = BuildOut("emu-" + c.base, text, c.platform);
    EXPECT_EQ(Slurp(out + "/arch"), c.machine + "\n") << c.platform;
    EXPECT_EQ(Slurp(out + "/argv0"), "sh\n");   // the emulator keeps argv[0] (flag P)
    EXPECT_EQ(Slurp(out + "/tmp/uid"), "1000\n");  // USER works in the user namespace
    // The sandbox's own binfmt_misc holds the one handler it needs.
    EXPECT_NE(Slurp(out + "/tmp/handlers").find(c.handler + "\n"), std::string::npos) << Slurp(out + "/tmp/handlers");
    auto doc = nlohmann::json::parse(RunImgbuild("inspect --root " + root_ + " emu-" + c.base + ":1").out);
    EXPECT_EQ("linux/" + doc["config"]["architecture"].get<std::string>() +
                  (doc["config"].contains("variant") ? "/" + doc["config"]["variant"].get<std::string>() : ""),
              c.platform);
  }
  // The host's binfmt_misc is as it was: nothing registered there.
  EXPECT_EQ(Sh("ls /proc/sys/fs/binfmt_misc 2>/dev/null"), hosts_before);
  // The step cannot change its handlers (read-only, and no CAP_SYS_ADMIN), nor leave its namespace.
  RunResult r = Build("emu-register",
                      "FROM busybox:arm64\nRUN echo ':evil:E::evil::/bin/sh:' > /proc/sys/fs/binfmt_misc/register\n",
                      "--platform linux/arm64");
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_NE(r.err.find("Read-only file system"), std::string::npos) << r.err;
  r = Build("emu-unshare", "FROM busybox:arm64\nRUN unshare -U true\n", "--platform linux/arm64");
  EXPECT_EQ(r.code, 1) << r.err;
}

TEST_F(EmulationTest, AStepThatCannotRunSaysWhy) {
  if (Sh("uname -m") != "x86_64\n") GTEST_SKIP() << "needs an x86_64 host";
  // A binary of another platform than its image says: the exec error is explained.
  std::filesystem::create_directories(dir_ + "/liar");
  std::filesystem::copy_file(std::string(IMGBUILD_BINARY_DIR) + "/foreign/arm64/busybox", dir_ + "/liar/arm-busybox");
  RunResult r = Build("liar", "FROM busybox:local\nCOPY arm-busybox /bin/\nRUN [\"/bin/arm-busybox\", \"true\"]\n");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("Exec format error (not a program this host can run: the image says it is for linux/amd64"),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace imgbuild::testing
