// The command line as a user sees it: parse and outline of Buildfiles in testdata/, how the
// Buildfile is found, warnings, and exit codes.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "run_util.h"

namespace imgbuild::testing {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    char t[] = "/tmp/imgbuild-cli-XXXXXX";
    path_ = mkdtemp(t);
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }
  void Write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ + "/" + name) << text;
  }

 private:
  std::string path_;
};

TEST(Cli, ParseDemoFindsBuildfileInContext) {
  RunResult r = RunImgbuild("parse --json testdata/demo");
  ASSERT_EQ(r.code, 0) << r.err;
  auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["directives"]["syntax"], "docker/dockerfile:1");
  ASSERT_EQ(doc["stages"].size(), 2u);
  EXPECT_EQ(doc["stages"][1]["name"], "app");
  EXPECT_EQ(doc["args"][0]["name"], "BASE");
  EXPECT_EQ(doc["args"][1]["name"], "VERSION");
  EXPECT_EQ(doc["args"][1]["default"], "1.0");
}

TEST(Cli, BuildfileLookupOrder) {
  TempDir d;
  d.Write("Containerfile", "FROM containerfile\n");
  EXPECT_NE(RunImgbuild("parse " + d.path()).out.find("FROM containerfile"), std::string::npos);
  d.Write("Dockerfile", "FROM dockerfile\n");
  EXPECT_NE(RunImgbuild("parse " + d.path()).out.find("FROM dockerfile"), std::string::npos);
  d.Write("Buildfile", "FROM buildfile\n");
  EXPECT_NE(RunImgbuild("parse " + d.path()).out.find("FROM buildfile"), std::string::npos);
  d.Write("other", "FROM other\n");
  EXPECT_NE(RunImgbuild("parse -f " + d.path() + "/other " + d.path()).out.find("FROM other"), std::string::npos);
  TempDir empty;
  RunResult r = RunImgbuild("parse " + empty.path());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no Buildfile, Dockerfile or Containerfile in"), std::string::npos) << r.err;
}

TEST(Cli, UsageErrorExitsTwo) {
  EXPECT_EQ(RunImgbuild("parse --no-such-flag").code, 2);
  EXPECT_EQ(RunImgbuild("").code, 2);
  EXPECT_EQ(RunImgbuild("build").code, 2);  // no context
  // Only a directory, - or a flag starts the implicit build; another word is a usage error with
  // a suggestion (issue 14, item 5), and option mistakes are named before anything runs.
  RunResult r = RunImgbuild("frobnicate");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown command \"frobnicate\""), std::string::npos) << r.err;
  r = RunImgbuild("imagse");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("(did you mean images?)"), std::string::npos) << r.err;
  r = RunImgbuild("build --tga x testdata/demo");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("unknown flag --tga for build (did you mean --tag?)"), std::string::npos) << r.err;
  r = RunImgbuild("build -t --root /nonexistent testdata/demo");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("option -t of build needs a value, but \"--root\" is an option"), std::string::npos) << r.err;
  EXPECT_EQ(RunImgbuild("help").code, 0);
  EXPECT_EQ(RunImgbuild("version").out.rfind("imgbuild ", 0), 0u);
  EXPECT_EQ(RunImgbuild("outline --build-arg =x testdata/demo").code, 2);
  EXPECT_EQ(RunImgbuild("outline --platform linux// testdata/demo").code, 2);
  EXPECT_EQ(RunImgbuild("--help").code, 0);
}

// Flag mistakes are reported before any work, under the flag's own name (issue 12, item 23).
TEST(Cli, BadRootAndLevelAreUsageErrors) {
  TempDir d;
  RunResult empty = RunImgbuild("images --root ''");
  EXPECT_EQ(empty.code, 2);
  EXPECT_NE(empty.err.find("--root: must not be empty"), std::string::npos) << empty.err;
  EXPECT_EQ(RunImgbuild("build --root '' testdata/demo").code, 2);
  RunResult level = RunImgbuild("build --root " + d.path() + "/r --compression-level 99 testdata/demo");
  EXPECT_EQ(level.code, 2);
  EXPECT_NE(level.err.find("error: --compression-level: gzip levels are 0-9, not 99"), std::string::npos) << level.err;
  EXPECT_EQ(RunImgbuild("build --root " + d.path() + "/r --compression zstd --compression-level 30 testdata/demo").code, 2);
  std::ofstream(d.path() + "/file") << "x";
  RunResult root = RunImgbuild("build --root " + d.path() + "/file/sub testdata/demo");
  EXPECT_EQ(root.code, 2);
  EXPECT_NE(root.err.find("error: --root: mkdir " + d.path() + "/file/sub: Not a directory"), std::string::npos) << root.err;
  EXPECT_EQ(root.err.find("cache-limit"), std::string::npos) << root.err;
}

// Image names are checked as Docker checks them, before the build (issue 12, item 19), and an
// error shows control bytes escaped: a name cannot forge terminal output.
TEST(Cli, BadImageNamesAreRefusedAndShownEscaped) {
  TempDir d;
  // (as /bin/sh words: printf makes the real newline and escape bytes)
  for (const char* name : {"Bad", "'a b'", "a:b:c", "../../x", "\"$(printf 'x\\ny')\"", "\"$(printf '\\033[31mred')\"",
                           "\"$(printf 'reg\\n.io/x')\""}) {
    SCOPED_TRACE(name);
    RunResult r = RunImgbuild("build --root " + d.path() + "/r -t " + name + " testdata/demo");
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("error: -t: invalid"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    // An output's name is checked as early: before the build, not after it.
    r = RunImgbuild("build --progress=plain --root " + d.path() + "/r -o type=image,name=" + name + " testdata/demo");
    EXPECT_EQ(r.code, 2);
    EXPECT_EQ(r.err.find("#1"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << r.err;
  }
}

// The state dir is private: other users cannot reach the setuid programs in its snapshots
// (item 12). A directory that is not a state dir (`--root /tmp`) is never tightened.
TEST(Cli, StateDirIsPrivate) {
  TempDir d;
  fs::permissions(d.path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                fs::perms::others_read | fs::perms::others_exec);
  ASSERT_EQ(RunImgbuild("images --root " + d.path() + "/state").code, 0);
  EXPECT_EQ(fs::status(d.path() + "/state").permissions() & fs::perms::all, fs::perms::owner_all);
  fs::create_directories(d.path() + "/old/oci");  // an older state dir left 0755
  fs::permissions(d.path() + "/old", fs::perms::owner_all | fs::perms::others_exec | fs::perms::group_exec);
  ASSERT_EQ(RunImgbuild("images --root " + d.path() + "/old").code, 0);
  EXPECT_EQ(fs::status(d.path() + "/old").permissions() & fs::perms::all, fs::perms::owner_all);
  fs::create_directories(d.path() + "/shared");
  fs::permissions(d.path() + "/shared", fs::perms::all);
  ASSERT_EQ(RunImgbuild("images --root " + d.path() + "/shared").code, 0);
  EXPECT_EQ(fs::status(d.path() + "/shared").permissions() & fs::perms::all, fs::perms::all);
}

TEST(Cli, BuildfileErrorExitsOneWithCaret) {
  RunResult r = RunImgbuild("parse -f -", "FROM scratch\nCOPY --chmodd=755 a b\n");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "error: <stdin>:2:6: unknown flag: chmodd for COPY (did you mean chmod?)\n"
            " 2 | COPY --chmodd=755 a b\n"
            "   |      ^\n");
  EXPECT_TRUE(r.out.empty());
}

TEST(Cli, WarningsGoToStderrAndCheckErrorFails) {
  RunResult r = RunImgbuild("parse -f -", "FROM a\nMAINTAINER me\n");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.err.find("warning: <stdin>:2: MaintainerDeprecated:"), std::string::npos) << r.err;
  RunResult strict = RunImgbuild("parse -f -", "# check=error=true\nFROM a\nMAINTAINER me\n");
  EXPECT_EQ(strict.code, 1);
  EXPECT_NE(strict.err.find("check=error=true"), std::string::npos) << strict.err;
  RunResult skipped = RunImgbuild("parse -f -", "# check=skip=MaintainerDeprecated;error=true\nFROM a\nMAINTAINER me\n");
  EXPECT_EQ(skipped.code, 0) << skipped.err;
  EXPECT_TRUE(skipped.err.empty());
}

TEST(Cli, OutlineJson) {
  RunResult r = RunImgbuild(
      "outline --json -f testdata/parse/multi_stage.Buildfile --target runtime "
      "--build-arg VERSION=2.1 --build-arg UNUSED=1 .");
  ASSERT_EQ(r.code, 0) << r.err;
  auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["target"], "runtime");
  ASSERT_EQ(doc["stages"].size(), 2u);
  EXPECT_EQ(doc["stages"][0]["name"], "builder");
  EXPECT_EQ(doc["stages"][0]["base"]["ref"], "golang:1.22-alpine");
  EXPECT_EQ(doc["stages"][0]["description"], "builder compiles the binary.");
  EXPECT_EQ(doc["stages"][1]["base"]["ref"], "alpine:3.20");
  ASSERT_EQ(doc["skipped"].size(), 1u);
  EXPECT_EQ(doc["skipped"][0]["name"], "test");
  bool saw_version = false;
  for (const auto& a : doc["args"]) {
    if (a["name"] == "VERSION") {
      saw_version = true;
      EXPECT_EQ(a["value"], "2.1");
      EXPECT_EQ(a["default"], "dev");
      EXPECT_EQ(a["used_on_lines"], nlohmann::json::array());  // RUN reads it at run time, not here
    }
    if (a["name"] == "GO_VERSION") {
      EXPECT_EQ(a["used_on_lines"], nlohmann::json::array({6}));
    }
  }
  EXPECT_TRUE(saw_version);
  EXPECT_EQ(doc["unused_build_args"], nlohmann::json::array({"UNUSED"}));
}

TEST(Cli, OutlineSecretsAndText) {
  RunResult r = RunImgbuild("outline -f testdata/parse/every_flag.Buildfile --json .");
  ASSERT_EQ(r.code, 0) << r.err;
  auto doc = nlohmann::json::parse(r.out);
  ASSERT_EQ(doc["secrets"].size(), 2u);
  EXPECT_EQ(doc["secrets"][0]["id"], "token");
  EXPECT_EQ(doc["secrets"][0]["required"], true);
  EXPECT_EQ(doc["ssh"][0]["id"], "github");
  RunResult text = RunImgbuild("outline testdata/demo");
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_NE(text.out.find("target: app"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("builder (line 9): from image busybox:local"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("app (line 20): from image busybox:local, 11 step(s), needs builder"), std::string::npos) << text.out;
}

TEST(Cli, RepeatedOptionsTakeOneValueEach) {
  RunResult r = RunImgbuild("outline --json --build-arg VERSION=2.0 testdata/demo");
  ASSERT_EQ(r.code, 0) << r.err;
  auto doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["args"][1]["value"], "2.0");
}

TEST(Cli, OutlineUnknownTarget) {
  RunResult r = RunImgbuild("outline --target nope testdata/demo");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("target stage \"nope\" could not be found"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace imgbuild::testing

namespace imgbuild::testing {
namespace {

// docker's spellings reach the same commands, and --root may come before the command.
TEST(Cli, DockerAliasesAndAGlobalRoot) {
  char t[] = "/tmp/imgbuild-cli-XXXXXX";
  std::string root = std::string(mkdtemp(t)) + "/root";
  RunResult r = RunImgbuild("--root " + root + " images");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("REPOSITORY"), std::string::npos) << r.out;
  EXPECT_EQ(RunImgbuild("image ls --root " + root).code, 0);
  r = RunImgbuild("--root " + root + " rmi nosuch:1");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("nosuch"), std::string::npos) << r.err;
  r = RunImgbuild("builder prune --root " + root);
  EXPECT_EQ(r.code, 0) << r.err;
  RemoveTestDir(std::string(t));
}

// libcurl and libarchive (and their thirty-odd libraries) are loaded only by what uses them: a
// store command starts without either, and a registry command's error still comes from libcurl.
TEST(StartupTest, LibcurlAndLibarchiveAreLoadedOnlyWhenUsed) {
  char t[] = "/tmp/imgbuild-startup-XXXXXX";
  std::string root = mkdtemp(t);
  RunResult images = RunImgbuild("images --root " + root, "", "LD_DEBUG=files");
  EXPECT_EQ(images.code, 0) << images.err;
  EXPECT_EQ(images.err.find("libcurl"), std::string::npos) << "libcurl loaded at start-up";
  EXPECT_EQ(images.err.find("libarchive"), std::string::npos) << "libarchive loaded at start-up";
  RunResult pull = RunImgbuild("pull --root " + root + " 127.0.0.1:1/none:1", "", "LD_DEBUG=files");
  EXPECT_NE(pull.code, 0);
  EXPECT_NE(pull.err.find("libcurl"), std::string::npos) << "a pull did not load libcurl";
  EXPECT_NE(pull.err.find("127.0.0.1:1"), std::string::npos) << pull.err;
  std::filesystem::remove_all(root);
}

}  // namespace
}  // namespace imgbuild::testing
