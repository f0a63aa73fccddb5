// The command line as a user sees it: parse and outline of Buildfiles in testdata/, exit codes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "run_util.h"

namespace imgbuild::testing {
namespace {

TEST(Cli, ParseDemoFindsBuildfileInContext) {
  RunResult r = RunImgbuild("parse --json testdata/demo");
  ASSERT_EQ(r.code, 0) << r.err;
  auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["directives"]["syntax"], "docker/dockerfile:1");
  ASSERT_EQ(doc["stages"].size(), 2u);
  EXPECT_EQ(doc["stages"][1]["name"], "app");
}

TEST(Cli, UsageErrorExitsTwo) {
  EXPECT_EQ(RunImgbuild("parse --no-such-flag").code, 2);
  EXPECT_EQ(RunImgbuild("").code, 2);
}

TEST(Cli, BuildfileErrorExitsOneWithCaret) {
  RunResult r = RunImgbuild("parse -f -", "FROM scratch\nCOPY --chmodd=755 a b\n");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "error: <stdin>:2:6: unknown flag --chmodd for COPY (did you mean --chmod?)\n"
            " 2 | COPY --chmodd=755 a b\n"
            "   |      ^\n");
}

}  // namespace
}  // namespace imgbuild::testing
