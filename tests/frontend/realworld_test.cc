// Real-world Buildfiles (testdata/realworld/, written in the style of the official images of
// popular languages and databases): each must parse, lower and plan, with the right meaning.
#include <gtest/gtest.h>

#include <filesystem>

#include "frontend/lower.h"
#include "frontend/parser.h"
#include "frontend/plan.h"
#include "test_util.h"

namespace imgbuild::frontend {
namespace {

using imgbuild::testing::ReadSourceFile;

Program Load(const std::string& name) {
  return ParseProgram(ReadSourceFile("testdata/realworld/" + name), name);
}

const Instruction& At(const Program& p, int line) {
  for (const Stage& s : p.stages) {
    for (const Instruction& i : s.instructions) {
      if (i.location.line == line) return i;
    }
  }
  throw std::runtime_error("no instruction at line " + std::to_string(line));
}

std::string RunText(const Program& p, int line) { return std::get<RunInstr>(At(p, line).op).cmd.at(0); }

TEST(RealWorld, AllParseLowerAndPlan) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator(imgbuild::testing::SourcePath("testdata/realworld"))) {
    SCOPED_TRACE(entry.path().filename().string());
    Program p = Load(entry.path().filename().string());
    EXPECT_FALSE(p.stages.empty());
    EXPECT_NO_THROW(MakePlan(std::move(p), {}));
    ++count;
  }
  EXPECT_GE(count, 10);
}

TEST(RealWorld, PythonContinuationsWithInterleavedComments) {
  Program p = Load("python.Dockerfile");
  std::string run = RunText(p, 27);
  EXPECT_NE(run.find("libffi-dev \t\tlibssl-dev"), std::string::npos) << run;
  EXPECT_EQ(run.find("comment in the middle"), std::string::npos);
  EXPECT_NE(run.find("${PYTHON_VERSION%%[a-z]*}"), std::string::npos);  // RUN is not expanded
  EXPECT_EQ(At(p, 78).keyword, "CMD");
  Plan plan = MakePlan(std::move(p), {});
  EXPECT_EQ(*plan.steps.back().env,
            (std::vector<std::string>{"PATH=/usr/local/bin:", "LANG=C.UTF-8",
                                      "GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D",
                                      "PYTHON_VERSION=3.12.4"}));
}

TEST(RealWorld, NodeCaseStatementAndComments) {
  Program p = Load("node.Dockerfile");
  std::string run = RunText(p, 8);
  EXPECT_NE(run.find("amd64) ARCH='x64';;"), std::string::npos);
  EXPECT_EQ(run.find("smoke tests"), std::string::npos);
  EXPECT_NE(run.find("&& node --version"), std::string::npos);
  EXPECT_EQ(std::get<CmdInstr>(At(p, 39).op).cmd, std::vector<std::string>{"node"});
}

TEST(RealWorld, WindowsBacktickEscape) {
  Program p = Load("openjdk-windows.Dockerfile");
  EXPECT_EQ(p.directives.escape, '`');
  EXPECT_EQ(std::get<ShellInstr>(At(p, 6).op).shell.size(), 3u);
  std::string run = RunText(p, 19);
  EXPECT_NE(run.find("Expand-Archive openjdk.zip -DestinationPath C:\\temp;"), std::string::npos);
  EXPECT_EQ(run.find('`'), std::string::npos);
  Plan plan = MakePlan(std::move(p), {});
  EXPECT_NE(std::find(plan.steps.back().env->begin(), plan.steps.back().env->end(), "JAVA_HOME=C:\\openjdk-21"),
            plan.steps.back().env->end());
}

TEST(RealWorld, RustHeredocAfterContinuedMounts) {
  Program p = Load("rust.Dockerfile");
  const auto& run = std::get<RunInstr>(At(p, 8).op);
  EXPECT_EQ(run.mount_specs.size(), 6u);
  ASSERT_EQ(run.heredocs.size(), 1u);
  EXPECT_EQ(run.heredocs[0].content, "set -e\ncargo build --locked --release\ncp ./target/release/$APP_NAME /bin/server\n");
  Plan plan = MakePlan(std::move(p), {});
  EXPECT_EQ(plan.stages[1].depends_on, std::set<int>{0});
}

TEST(RealWorld, GolangCrossCompileArgs) {
  PlanOptions o;
  o.build_platform = PlatformSpec::Parse("linux/amd64");
  o.target_platform = PlatformSpec::Parse("linux/arm64");
  Plan plan = MakePlan(Load("golang.Dockerfile"), o);
  EXPECT_EQ(plan.stages[0].platform, "linux/amd64");
  EXPECT_EQ(plan.stages[0].base.ref, "golang:1.22.5-bookworm");
  const PlannedStep& build = plan.steps[plan.stages[0].steps.back()];
  EXPECT_EQ(*build.build_args, (std::vector<std::string>{"TARGETOS=linux", "TARGETARCH=arm64"}));
}

TEST(RealWorld, PhpMultiLineEnvValue) {
  Program p = Load("php-apache.Dockerfile");
  const auto& env = std::get<KeyValuesInstr>(At(p, 13).op);
  ASSERT_TRUE(env.legacy);
  EXPECT_EQ(env.pairs[0].key, "PHPIZE_DEPS");
  EXPECT_NE(env.pairs[0].value.find("autoconf \t\tdpkg-dev"), std::string::npos);
}

}  // namespace
}  // namespace imgbuild::frontend
