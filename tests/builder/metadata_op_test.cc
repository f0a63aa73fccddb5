// The config-only instructions, applied to a config as the solver does (no root, no files): what
// each sets, the history entry it adds, and the semantics BuildKit gives them.
#include "builder/ops/metadata_op.h"

#include <gtest/gtest.h>

#include "frontend/lower.h"

namespace imgbuild::builder {
namespace {

// Plans `text` and applies every config-only step of its last stage to an empty config.
layers::ImageConfig Apply(const std::string& text, std::vector<std::string>* unhandled = nullptr) {
  frontend::PlanOptions o;
  o.build_platform = frontend::PlatformSpec::Parse("linux/amd64");
  frontend::Plan plan = frontend::MakePlan(frontend::ParseProgram(text, "Buildfile"), o);
  layers::ImageConfig image;
  for (const frontend::PlannedStep& step : plan.steps) {
    if (const auto* meta = std::get_if<frontend::MetadataStep>(&step.op)) {
      ApplyMetadata(step, *meta, image, "2024-01-01T00:00:00Z");
    } else if (unhandled) {
      unhandled->push_back(step.keyword);
    }
  }
  return image;
}

TEST(MetadataOpTest, EachInstructionSetsItsField) {
  layers::ImageConfig c = Apply(
      "FROM scratch\nENV A=1 B=2\nENV A=3\nLABEL team=build x=y\nUSER app:app\nEXPOSE 80 53/UDP 80/tcp\n"
      "VOLUME /data /data /logs\nSTOPSIGNAL SIGINT\nMAINTAINER someone\nONBUILD RUN true\n"
      "HEALTHCHECK --interval=5s --retries=2 CMD curl -f http://localhost/\nSHELL [\"/bin/bash\", \"-c\"]\n"
      "CMD echo hi\n");
  EXPECT_EQ(c.config.env, (std::vector<std::string>{"A=3", "B=2"}));  // ENV replaces in place
  EXPECT_EQ(c.config.labels.at("team"), "build");
  EXPECT_EQ(c.config.user, "app:app");
  EXPECT_EQ(c.config.exposed_ports, (std::vector<std::string>{"53/udp", "80/tcp"}));
  EXPECT_EQ(c.config.volumes, (std::vector<std::string>{"/data", "/logs"}));
  EXPECT_EQ(c.config.stop_signal, "SIGINT");
  EXPECT_EQ(c.author, "someone");
  EXPECT_EQ(c.config.on_build, (std::vector<std::string>{"RUN true"}));
  ASSERT_TRUE(c.config.healthcheck);
  EXPECT_EQ(c.config.healthcheck->test, (std::vector<std::string>{"CMD-SHELL", "curl -f http://localhost/"}));
  EXPECT_EQ(c.config.healthcheck->interval, 5000000000);
  EXPECT_EQ(c.config.healthcheck->retries, 2);
  // The shell form runs under the SHELL in effect.
  EXPECT_EQ(*c.config.cmd, (std::vector<std::string>{"/bin/bash", "-c", "echo hi"}));
  // One history entry per instruction but ONBUILD, all without a layer, in BuildKit's words.
  ASSERT_EQ(c.history.size(), 11u);
  for (const auto& h : c.history) EXPECT_TRUE(h.empty_layer) << h.created_by;
  EXPECT_EQ(c.history[0].created_by, "ENV A=1 B=2");
  EXPECT_EQ(c.history[4].created_by, "EXPOSE [53/udp 80/tcp]");
  EXPECT_EQ(c.history[5].created_by, "VOLUME [/data /data /logs]");
  EXPECT_EQ(c.history[8].created_by,
            "HEALTHCHECK &{[\"CMD-SHELL\" \"curl -f http://localhost/\"] \"5s\" \"0s\" \"0s\" \"0s\" '\\x02'}");
  EXPECT_EQ(c.history[9].created_by, "SHELL [/bin/bash -c]");
  EXPECT_EQ(c.history[10].created_by, "CMD [\"/bin/bash\" \"-c\" \"echo hi\"]");
  EXPECT_TRUE(c.config.args_escaped);
}

TEST(MetadataOpTest, EntrypointResetsAnInheritedCmd) {
  // A CMD of the same stage stays (BuildKit's cmdSet) ...
  layers::ImageConfig c = Apply("FROM scratch\nCMD [\"a\"]\nENTRYPOINT [\"/bin/x\"]\n");
  EXPECT_EQ(*c.config.cmd, (std::vector<std::string>{"a"}));
  EXPECT_EQ(*c.config.entrypoint, (std::vector<std::string>{"/bin/x"}));
  // ... one from the base goes.
  frontend::PlannedStep step;
  step.words = {"/bin/x"};
  frontend::MetadataStep entrypoint{frontend::MetadataKind::kEntrypoint};
  entrypoint.exec_form = true;
  layers::ImageConfig inherited;
  inherited.config.cmd = std::vector<std::string>{"/bin/sh"};
  ApplyMetadata(step, entrypoint, inherited, "2024-01-01T00:00:00Z");
  EXPECT_FALSE(inherited.config.cmd);
  c = Apply("FROM scratch\nENTRYPOINT [\"/bin/x\"]\nCMD [\"a\"]\n");
  EXPECT_EQ(*c.config.cmd, (std::vector<std::string>{"a"}));
}

TEST(MetadataOpTest, StepsWithFilesAreNotMetadata) {
  std::vector<std::string> unhandled;
  Apply("FROM scratch\nCOPY a /a\nRUN true\nWORKDIR /w\nADD b /b\nARG X=1\n", &unhandled);
  EXPECT_EQ(unhandled, (std::vector<std::string>{"COPY", "RUN", "WORKDIR", "ADD"}));
}

TEST(MetadataOpTest, HistoryOfInvalidUtf8IsAsGoWritesIt) {
  EXPECT_EQ(JsonArray({"a\xf5"}), "[\"a\xef\xbf\xbd\"]");
  std::vector<std::string> env = {"PATH=/bin"};
  SetEnv(env, "PATH=/usr/bin");
  SetEnv(env, "X=1");
  EXPECT_EQ(env, (std::vector<std::string>{"PATH=/usr/bin", "X=1"}));
}

}  // namespace
}  // namespace imgbuild::builder
