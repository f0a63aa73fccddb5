// --platform: checked against the OCI platform table before anything runs (every platform of a
// list), `local` is the host's, and a base made for another platform is refused instead of being
// relabelled.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "busybox_fixture.h"
#include "run_util.h"

namespace imgbuild::testing {
namespace {

class PlatformTest : public BusyboxTest {};

TEST_F(PlatformTest, ValuesAreCheckedBeforeTheBuild) {
  // Every platform of a list is checked before anything runs.
  RunResult r = Build("list", "FROM busybox:local\nRUN false\n", "--platform linux/amd64,linux/x86");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown architecture \"x86\""), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("#1"), std::string::npos) << r.err;  // nothing ran
  r = Build("bad", "FROM busybox:local\n", "--platform linux/x86");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown architecture \"x86\""), std::string::npos) << r.err;
  r = Build("bados", "FROM busybox:local\n", "--platform linus/amd64");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown operating system \"linus\""), std::string::npos) << r.err;
  EXPECT_EQ(RunImgbuild("outline --platform linux/x86 testdata/demo").code, 2);
}

TEST_F(PlatformTest, LocalIsTheHostsPlatform) {
  RunResult r = Build("local", "FROM busybox:local\nRUN true\n", "-t local:1 --platform local");
  ASSERT_EQ(r.code, 0) << r.err;
  auto doc = nlohmann::json::parse(RunImgbuild("inspect --root " + root_ + " local:1").out);
  std::string machine = Sh("uname -m");
  std::string arch = machine == "x86_64\n" ? "amd64" : machine == "aarch64\n" ? "arm64" : machine.substr(0, machine.size() - 1);
  EXPECT_EQ(doc["config"]["architecture"], arch);
  EXPECT_EQ(doc["config"]["os"], "linux");
}

TEST_F(PlatformTest, ABaseOfAnotherPlatformIsRefused) {
  std::string machine = Sh("uname -m");
  std::string other = machine == "x86_64\n" ? "linux/arm64" : "linux/amd64";
  std::string mine = machine == "x86_64\n" ? "linux/amd64" : "linux/arm64";
  RunResult r = Build("foreign", "FROM busybox:local\nRUN echo would-run-a-host-binary\n", "--platform " + other);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("FROM busybox:local: the image is for " + mine + ", not " + other), std::string::npos) << r.err;
  // A stage's own FROM --platform is checked the same way, and scratch has no platform to check.
  r = Build("stage", "FROM --platform=" + other + " busybox:local\nRUN true\n");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("not " + other), std::string::npos) << r.err;
  r = Build("scratch", "FROM scratch\nCOPY Buildfile /\n", "-t scratch:arm --platform " + other);
  ASSERT_EQ(r.code, 0) << r.err;
  auto doc = nlohmann::json::parse(RunImgbuild("inspect --root " + root_ + " scratch:arm").out);
  EXPECT_EQ("linux/" + doc["config"]["architecture"].get<std::string>(), other);
}

}  // namespace
}  // namespace imgbuild::testing
