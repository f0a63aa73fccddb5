// The solver with a fake executor: scheduling, the step sequence (key, cache, op, record), the
// cache across builds, failures and cancellation, checked on the images it makes. No sandbox and
// no root needed: without root the copy snapshotter's snapshots are used where they are.
#include "builder/solver/solver.h"

#include <gtest/gtest.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "../support/fake_executor.h"
#include "../support/recording_status.h"
#include "../support/temp_dir.h"
#include "frontend/lower.h"
#include "layers/oci_layout.h"

namespace imgbuild::builder {
namespace {

using testing::FakeExecutor;
using testing::RecordingStatus;
using testing::TempDir;

class SolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.Write("ctx/app.txt", "app\n");
    dir_.Write("ctx/lib/util.txt", "util\n");
  }
  BuiltImage Build(const std::string& text, RecordingStatus& status, const std::string& target = "") {
    frontend::PlanOptions o;
    o.target = target;
    o.build_platform = frontend::PlatformSpec::Parse("linux/amd64");
    frontend::Plan plan = frontend::MakePlan(frontend::ParseProgram(text, "Buildfile"), o);
    BuildRequest req;
    req.root = dir_ / "root";
    req.context_dir = dir_ / "ctx";
    req.buildfile_path = dir_ / "ctx/Buildfile";
    req.buildfile_text = text;
    req.platform = layers::Platform::Host();
    req.source_date_epoch = 1700000000;
    req.tags = {"solver:test"};
    return BuildImage(plan, req, status, executor_);
  }
  layers::ImageConfig Config(const BuiltImage& image) {
    layers::OciLayout store(dir_ / "root/oci", dir_ / "root/tmp");
    return layers::ImageConfig::FromJson(nlohmann::json::parse(store.store().ReadBlob(image.config.digest)));
  }
  TempDir dir_{"imgbuild-solver"};
  FakeExecutor executor_;
};

const char* kTwoStages =
    "FROM scratch AS build\nCOPY lib/ /lib/\nRUN make lib\n"
    "FROM scratch AS app\nENV MODE=prod\nCOPY app.txt /app/\nRUN make app\nCOPY --from=build /ran /from-build\n"
    "CMD [\"/app\"]\n";

TEST_F(SolverTest, RunsEveryStepOfTheNeededStagesInOrder) {
  RecordingStatus status;
  BuiltImage image = Build(kTwoStages, status);
  std::vector<std::string> cmds = executor_.commands();
  ASSERT_EQ(cmds.size(), 2u);
  EXPECT_NE(std::find(cmds.begin(), cmds.end(), "/bin/sh -c make lib"), cmds.end());
  EXPECT_NE(std::find(cmds.begin(), cmds.end(), "/bin/sh -c make app"), cmds.end());
  EXPECT_EQ(image.steps_run, 7);
  EXPECT_EQ(image.layers.size(), 3u);  // COPY, RUN, COPY --from (ENV and CMD are config only)
  layers::ImageConfig c = Config(image);
  EXPECT_EQ(*c.config.cmd, (std::vector<std::string>{"/app"}));
  EXPECT_NE(std::find(c.config.env.begin(), c.config.env.end(), "MODE=prod"), c.config.env.end());
  EXPECT_EQ(c.history.size(), 5u);
  EXPECT_EQ(status.Count("start "), 7u);
  EXPECT_EQ(status.Count("output ran "), 2u);  // the executor's output reached the Status
  // Only the stages the target needs: building `build` alone runs its steps only.
  RecordingStatus only;
  Build(kTwoStages, only, "build");
  EXPECT_EQ(only.Count("start "), 2u);
}

TEST_F(SolverTest, AnUnchangedRebuildRunsNothingAndGivesTheSameImage) {
  RecordingStatus first, second;
  BuiltImage a = Build(kTwoStages, first);
  size_t ran = executor_.commands().size();
  BuiltImage b = Build(kTwoStages, second);
  EXPECT_EQ(executor_.commands().size(), ran);  // nothing executed
  EXPECT_EQ(second.Count("cached"), 7u);
  EXPECT_EQ(b.manifest.digest, a.manifest.digest);
  // A changed context file misses its COPY and what follows in that stage only.
  dir_.Write("ctx/app.txt", "app v2\n");
  RecordingStatus third;
  Build(kTwoStages, third);
  EXPECT_EQ(third.Count("cached"), 3u);  // the build stage (2) and ENV; the app stage reruns from its COPY
  EXPECT_EQ(executor_.commands().size(), ran + 1);
}

TEST_F(SolverTest, AFailingRunFailsTheBuildWithItsExitCodeAndLines) {
  RecordingStatus status;
  try {
    Build("FROM scratch\nRUN make && \\\n  fail now\n", status);
    FAIL() << "the build should have failed";
  } catch (const StepError& e) {
    EXPECT_EQ(e.line(), 2);
    EXPECT_EQ(e.keyword(), "RUN");
    std::string what = e.what();
    EXPECT_NE(what.find("Buildfile:2: RUN: process \"/bin/sh -c make &&   fail now\" did not complete successfully: "
                        "exit code: 3"),
              std::string::npos)
        << what;
    EXPECT_NE(what.find("    3 |   fail now"), std::string::npos) << what;
    EXPECT_NE(what.find("it failed"), std::string::npos) << what;
  }
  EXPECT_EQ(status.Count("failed "), 1u);
  // Nothing of the failed step was recorded: the next build runs it again.
  size_t before = executor_.commands().size();
  EXPECT_THROW(Build("FROM scratch\nRUN make && \\\n  fail now\n", status), BuildError);
  EXPECT_EQ(executor_.commands().size(), before + 1);
}

// The tests above need no root: as root (CI), they are run once more as an unprivileged user, from
// a copy of this binary that user can execute, so the root-free path stays tested.
TEST(SolverWithoutRootTest, TheSolverTestsPassAsAnUnprivilegedUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "already unprivileged: the tests above ran without root";
  if (::getenv("IMGBUILD_SOLVER_TEST_CHILD")) GTEST_SKIP() << "the unprivileged run itself";
  TempDir dir("imgbuild-unprivileged");
  ::chmod(dir.path().c_str(), 0755);
  std::string exe = dir / "builder_test";
  std::filesystem::copy_file("/proc/self/exe", exe);
  ::chmod(exe.c_str(), 0755);
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0) {
      ::_exit(120);
    }
    ::setenv("IMGBUILD_SOLVER_TEST_CHILD", "1", 1);
    ::setenv("HOME", "/tmp", 1);
    ::execl(exe.c_str(), exe.c_str(), "--gtest_filter=SolverTest.*:CopierTest.*", "--gtest_brief=1", nullptr);
    ::_exit(121);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the solver tests failed as an unprivileged user";
}

}  // namespace
}  // namespace imgbuild::builder
