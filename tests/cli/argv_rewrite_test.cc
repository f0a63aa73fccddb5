// The command line before CLI11: docker's aliases, help/version words, a global --root, the
// implicit build, and option mistakes named (issue 14, item 5).
#include "builder/cli/argv_rewrite.h"

#include <gtest/gtest.h>

namespace imgbuild::builder {
namespace {

using Args = std::vector<std::string>;
const Args kCommands = {"build", "images", "inspect", "rm", "prune", "tag"};

Rewritten R(const Args& a) {
  return RewriteArgs(a, kCommands, [](const std::string& w) { return w == "ctx" || w == "-" || w == "."; });
}

TEST(ArgvRewrite, ImplicitBuildOnlyForADirectoryStdinOrAFlag) {
  EXPECT_EQ(R({"imgbuild", "-t", "app", "."}).args, (Args{"imgbuild", "build", "-t", "app", "."}));
  EXPECT_EQ(R({"imgbuild", "ctx"}).args, (Args{"imgbuild", "build", "ctx"}));
  EXPECT_EQ(R({"imgbuild", "-"}).args, (Args{"imgbuild", "build", "-"}));
  Rewritten typo = R({"imgbuild", "imagse"});
  EXPECT_NE(typo.error.find("unknown command \"imagse\" (did you mean images?)"), std::string::npos) << typo.error;
}

TEST(ArgvRewrite, BarePullIsAlways) {
  EXPECT_EQ(R({"imgbuild", "build", "--pull", "."}).args, (Args{"imgbuild", "build", "--pull=always", "."}));
  EXPECT_EQ(R({"imgbuild", "--pull", "-t", "a", "."}).args, (Args{"imgbuild", "build", "--pull=always", "-t", "a", "."}));
  EXPECT_EQ(R({"imgbuild", "build", "--pull", "never", "."}).args, (Args{"imgbuild", "build", "--pull", "never", "."}));
  EXPECT_EQ(R({"imgbuild", "build", "."}).args, (Args{"imgbuild", "build", "."}));
}

TEST(ArgvRewrite, DockerAliasesHelpAndVersion) {
  EXPECT_EQ(R({"imgbuild", "rmi", "x"}).args, (Args{"imgbuild", "rm", "x"}));
  EXPECT_EQ(R({"imgbuild", "image", "ls"}).args, (Args{"imgbuild", "images"}));
  EXPECT_EQ(R({"imgbuild", "builder", "prune", "-a"}).args, (Args{"imgbuild", "prune", "-a"}));
  EXPECT_EQ(R({"imgbuild", "help"}).args, (Args{"imgbuild", "--help"}));
  EXPECT_EQ(R({"imgbuild", "help", "build"}).args, (Args{"imgbuild", "build", "--help"}));
  EXPECT_EQ(R({"imgbuild", "version"}).args, (Args{"imgbuild", "--version"}));
}

TEST(ArgvRewrite, RootBeforeTheCommandMovesAfterIt) {
  EXPECT_EQ(R({"imgbuild", "--root", "/r", "images"}).args, (Args{"imgbuild", "images", "--root", "/r"}));
  EXPECT_EQ(R({"imgbuild", "--root=/r", "image", "rm", "x"}).args, (Args{"imgbuild", "rm", "--root=/r", "x"}));
  EXPECT_EQ(R({"imgbuild", "--root", "/r", "-t", "a", "ctx"}).args, (Args{"imgbuild", "build", "--root", "/r", "-t", "a", "ctx"}));
  EXPECT_FALSE(R({"imgbuild", "--root"}).error.empty());
}

TEST(ArgvRewrite, OptionMistakesAreNamed) {
  const OptionTable build = {{"-t", true}, {"--tag", true}, {"--root", true}, {"--no-cache", false}, {"-f", true}};
  EXPECT_EQ(CheckOptions({"imgbuild", "build", "-t", "app", "--no-cache", "ctx"}, "build", build), "");
  EXPECT_EQ(CheckOptions({"imgbuild", "build", "--tag=-odd", "ctx"}, "build", build), "");
  std::string e = CheckOptions({"imgbuild", "build", "-t", "--root", "/r", "ctx"}, "build", build);
  EXPECT_NE(e.find("option -t of build needs a value, but \"--root\" is an option"), std::string::npos) << e;
  e = CheckOptions({"imgbuild", "build", "--tga", "x", "ctx"}, "build", build);
  EXPECT_EQ(e, "unknown flag --tga for build (did you mean --tag?)");
  EXPECT_EQ(CheckOptions({"imgbuild", "build", "-f", "-", "ctx"}, "build", build), "");  // - is stdin, a value
}

}  // namespace
}  // namespace imgbuild::builder
