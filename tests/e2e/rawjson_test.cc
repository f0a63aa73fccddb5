// --progress=rawjson is a pure JSON-lines stream: a schema event first, then steps, warnings,
// the result (digests, names, pushed references) or the failure, and nothing that is not JSON.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "busybox_fixture.h"
#include "run_util.h"

namespace imgbuild::testing {
namespace {

class RawJsonTest : public BusyboxTest {
 protected:
  RunResult Json(const std::string& name, const std::string& buildfile, const std::string& args = "") {
    std::string ctx = dir_ + "/" + name;
    std::filesystem::create_directories(ctx);
    std::ofstream(ctx + "/Buildfile") << buildfile;
    return RunImgbuild("build --progress=rawjson --network=none --root " + root_ + " " + args + " " + ctx);
  }
  // Every line of `text` parsed; a line that is not JSON fails the test.
  std::vector<nlohmann::json> Events(const std::string& text) {
    std::vector<nlohmann::json> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      try {
        out.push_back(nlohmann::json::parse(line));
      } catch (const std::exception&) {
        ADD_FAILURE() << "not JSON: " << line;
      }
    }
    return out;
  }
  std::vector<nlohmann::json> Of(const std::vector<nlohmann::json>& events, const std::string& name) {
    std::vector<nlohmann::json> out;
    for (const auto& e : events)
      if (e["event"] == name) out.push_back(e);
    return out;
  }
};

TEST_F(RawJsonTest, SuccessWarningsAndResult) {
  RunResult r = Json("ok", "FROM busybox:local\nRUN echo out\ncopy Buildfile /\n",
                      "-t json:1 --build-arg UNUSED=1 --iidfile " + dir_ + "/iid");
  ASSERT_EQ(r.code, 0) << r.err;
  auto events = Events(r.err);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0]["event"], "schema");
  EXPECT_EQ(events[0]["version"], 1);
  for (const auto& e : events) EXPECT_TRUE(e.contains("time")) << e;
  auto warnings = Of(events, "warning");
  ASSERT_EQ(warnings.size(), 2u) << r.err;  // the lower-case copy (a build check) and the unused arg
  EXPECT_NE(warnings[0]["message"].get<std::string>().find("ConsistentInstructionCasing"), std::string::npos);
  EXPECT_NE(warnings[1]["message"].get<std::string>().find("UNUSED"), std::string::npos);
  auto result = Of(events, "result");
  ASSERT_EQ(result.size(), 1u);
  EXPECT_EQ(result[0]["digest"].get<std::string>() + "\n", r.out);
  EXPECT_EQ(result[0]["config_digest"], Slurp(dir_ + "/iid"));
  EXPECT_EQ(result[0]["names"], nlohmann::json::array({"json:1"}));
  EXPECT_EQ(result[0]["steps_run"], 2);
  ASSERT_EQ(Of(events, "plan").size(), 1u);
  EXPECT_EQ(Of(events, "plan")[0]["steps"], 2);  // told before the first step (the tty header counts it)
  EXPECT_EQ(Of(events, "start").size(), 2u);
  EXPECT_EQ(Of(events, "done").size(), 2u);
}

TEST_F(RawJsonTest, LabelsShowStagesAndFlagsAsWritten) {
  RunResult r = Json("labels",
                     "FROM busybox:local AS deps\nRUN --mount=type=tmpfs,target=/t --network=none echo hi > /h\n"
                     "FROM busybox:local\nCOPY --from=deps --chmod=0644 /h /h\n"
                     "RUN --mount=type=bind,from=deps,source=/h,target=/x cat /x\n");
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<std::string> labels;
  for (const auto& e : Of(Events(r.err), "start")) labels.push_back(e["label"]);
  EXPECT_EQ(labels, (std::vector<std::string>{"[deps 2/2] RUN --mount=type=tmpfs,target=/t --network=none echo hi > /h",
                                              "[stage-1 2/3] COPY --from=deps --chmod=0644 /h /h",
                                              "[stage-1 3/3] RUN --mount=type=bind,from=deps,source=/h,target=/x cat /x"}));
}

TEST_F(RawJsonTest, FailuresAreEventsToo) {
  RunResult r = Json("fails", "FROM busybox:local\nRUN exit 3\n");
  EXPECT_EQ(r.code, 1);
  auto events = Events(r.err);
  auto failed = Of(events, "failed");
  ASSERT_EQ(failed.size(), 1u) << r.err;
  EXPECT_EQ(failed[0]["exit_code"], 1);
  EXPECT_NE(failed[0]["error"].get<std::string>().find("exit code: 3"), std::string::npos) << failed[0];
  EXPECT_EQ(Of(events, "error").size(), 1u);  // the step's own error event
  // A Buildfile error (with its caret) and a missing base are events as well.
  r = Json("syntax", "FROM busybox:local\nRUN --mount=type=nope true\n");
  EXPECT_EQ(r.code, 1);
  ASSERT_EQ(Of(Events(r.err), "failed").size(), 1u) << r.err;
  r = Json("missing", "FROM no-such-image:1\n", "--pull=never");
  EXPECT_EQ(r.code, 1);
  ASSERT_EQ(Of(Events(r.err), "failed").size(), 1u) << r.err;
}

// Usage errors (a bad flag value, an unknown flag, a value that looks like a flag) of a rawjson
// build are the stream's schema and failed events, exit 2, whether rawjson comes from the flag or
// from $BUILDKIT_PROGRESS.
TEST_F(RawJsonTest, UsageErrorsAreEventsToo) {
  struct Case {
    std::string args, env, says;
  };
  std::vector<Case> cases = {{"--progress=rawjson --compression-level 50", "", "compression-level"},
                             {"--progress rawjson --tga x", "", "--tga"},
                             {"--progress=rawjson -t --root", "", "-t"},
                             {"--cache-limit abc%", "BUILDKIT_PROGRESS=rawjson", "cache-limit"}};
  std::filesystem::create_directories(dir_ + "/usage");
  std::ofstream(dir_ + "/usage/Buildfile") << "FROM busybox:local\n";
  for (const Case& c : cases) {
    RunResult r = RunImgbuild("build " + c.args + " --root " + root_ + " " + dir_ + "/usage", "", c.env);
    EXPECT_EQ(r.code, 2) << c.args << "\n" << r.err;
    auto events = Events(r.err);
    ASSERT_GE(events.size(), 2u) << c.args << "\n" << r.err;
    EXPECT_EQ(events[0]["event"], "schema");
    auto failed = Of(events, "failed");
    ASSERT_EQ(failed.size(), 1u) << r.err;
    EXPECT_EQ(failed[0]["exit_code"], 2);
    EXPECT_NE(failed[0]["error"].get<std::string>().find(c.says), std::string::npos) << c.args << ": " << failed[0];
  }
  // Without rawjson the same error is a plain line.
  RunResult plain = RunImgbuild("build --compression-level 50 --root " + root_ + " " + dir_ + "/usage");
  EXPECT_EQ(plain.code, 2);
  EXPECT_EQ(plain.err.rfind("error: ", 0), 0u) << plain.err;
}

}  // namespace
}  // namespace imgbuild::testing
