// Security: Buildfiles are hostile input too (issue 12, item 18). Deep nesting, huge numbers of
// ENV/LABEL lines, oversized files, NUL bytes and invalid UTF-8 each get a clear error (file:line:col
// where a line is at fault) or cost linear time and memory, never a crash.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "../e2e/busybox_fixture.h"

namespace imgbuild::testing {
namespace {

namespace fs = std::filesystem;

class BuildfileBoundsTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    std::string ctx = tmp_ + "/" + name;
    fs::create_directories(ctx);
    std::ofstream(ctx + "/Buildfile", std::ios::binary) << text;
    return ctx;
  }
  void TearDown() override { fs::remove_all(tmp_); }
  std::string tmp_ = [] {
    char t[] = "/tmp/imgbuild-bounds-XXXXXX";
    return std::string(mkdtemp(t));
  }();
};

TEST_F(BuildfileBoundsTest, DeeplyNestedSubstitutionsAreAnError) {
  std::string deep;
  for (int i = 0; i < 20000; ++i) deep += "${a:-";
  deep += "x" + std::string(20000, '}');
  RunResult r = RunImgbuild("outline " + Write("nest", "FROM scratch\nENV a=1\nENV b=" + deep + "\n"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("Buildfile:3:1: "), std::string::npos) << r.err.substr(0, 300);
  EXPECT_NE(r.err.find("nested more than 100 levels deep"), std::string::npos) << r.err.substr(0, 300);
}

TEST_F(BuildfileBoundsTest, ManyEnvLinesCostLinearMemory) {
  std::string text = "FROM scratch\n";
  for (int i = 0; i < 100000; ++i) text += "ENV V" + std::to_string(i) + "=value" + std::to_string(i) + "\n";
  text += "RUN true\n";
  RunResult r = RunImgbuild("outline " + Write("env", text));
  ASSERT_EQ(r.code, 0) << r.err.substr(0, 300);
  EXPECT_NE(r.out.find("100001 step(s)"), std::string::npos) << r.out.substr(0, 300);
}

TEST_F(BuildfileBoundsTest, AnEnvironmentSeenByTooManyRunStepsIsAnError) {
  std::string text = "FROM scratch\n";
  for (int i = 0; i < 30000; ++i) text += "ENV V" + std::to_string(i) + "=v\nRUN true\n";
  RunResult r = RunImgbuild("outline " + Write("alt", text));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("the environment is too large"), std::string::npos) << r.err.substr(0, 300);
  EXPECT_NE(r.err.find("| RUN true"), std::string::npos) << r.err.substr(0, 300);
}

TEST_F(BuildfileBoundsTest, OversizedBuildfilesAreRefused) {
  std::string ctx = Write("big", "FROM scratch\nRUN <<EOF\n" + std::string(17 << 20, 'x') + "\nEOF\n");
  RunResult r = RunImgbuild("outline " + ctx);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("is larger than 16 MiB, the most a Buildfile may be"), std::string::npos) << r.err;
  r = RunImgbuild("outline -f - " + ctx, std::string(17 << 20, '#'));
  EXPECT_NE(r.err.find("the Buildfile on standard input is larger than 16 MiB"), std::string::npos) << r.err;
}

TEST_F(BuildfileBoundsTest, ANulByteIsAnErrorWithACaret) {
  static const char kText[] = "FROM scratch\nRUN echo a\0; touch /b\n";
  RunResult r = RunImgbuild("outline " + Write("nul", std::string(kText, sizeof kText - 1)));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("Buildfile:2:11: the Buildfile holds a NUL byte here\n 2 | RUN echo a\xE2\x90\x80; touch /b\n"
                       "   |           ^"),
            std::string::npos)
      << r.err;
}

TEST_F(BuildfileBoundsTest, InvalidUtf8StillGivesValidJson) {
  RunResult r = RunImgbuild("parse --json " + Write("utf", "FROM scratch\nLABEL a=\xff\xfe\nRUN echo \xc3\x28\n"));
  ASSERT_EQ(r.code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);  // throws on invalid JSON
  EXPECT_EQ(j["stages"][0]["instructions"][0]["args"][0], "a=\xEF\xBF\xBD\xEF\xBF\xBD");
}

}  // namespace
}  // namespace imgbuild::testing
