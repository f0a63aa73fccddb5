// BuildKit's Dockerfile frontend tests, ported as data: one gtest per directory under
// tests/conformance/cases/. Each case holds a Buildfile, an optional context/ (copied; an optional
// setup.sh runs inside the copy for what git cannot hold: sockets, modes, owners) and a `case` file:
//
//   # from: dockerfile_copy_test.go testEmptyDestDir     (the Go test it comes from)
//   args: --target x --build-arg a=b                     (extra build flags; {context} is the
//                                                         context copy's path)
//   fails-with: TEXT       the build must fail and its stderr contain TEXT (may repeat)
//   stderr: TEXT           a successful build's stderr contains TEXT (warnings)
//   no-stderr: TEXT        ... and does not contain TEXT
//   warnings: N            exactly N build-check warnings were printed
//   file PATH = TEXT       the image holds PATH with exactly TEXT (\n and \t escapes)
//   contains PATH TEXT     the file PATH holds TEXT somewhere
//   mode PATH 0644         permission bits (with the setuid/setgid/sticky bits)
//   owner PATH 100:200     numeric owner
//   type PATH file|dir|symlink|fifo
//   symlink PATH -> TARGET
//   absent PATH
//   config /POINTER = JSON the image config (as `inspect` prints it) at a JSON pointer
//   config-absent /POINTER
//
// Builds run on a busybox base (Debian's busybox-static, with the users and groups of Docker Hub's
// busybox: busybox-etc/) named `busybox`, with --network=none. Cases written for `alpine` use it too.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "../e2e/run_util.h"

namespace imgbuild::testing {
namespace {

namespace fs = std::filesystem;

const std::string kCases = std::string(IMGBUILD_SOURCE_DIR) + "/tests/conformance/cases";

std::vector<std::string> ListCases() {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(kCases))
    if (e.is_directory()) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      char c = s[++i];
      out += c == 'n' ? '\n' : c == 't' ? '\t' : c;
    } else {
      out += s[i];
    }
  }
  return out;
}

// "KEYWORD REST" with REST trimmed on the left.
std::pair<std::string, std::string> Word(const std::string& line) {
  size_t sp = line.find_first_of(" \t");
  if (sp == std::string::npos) return {line, ""};
  size_t rest = line.find_first_not_of(" \t", sp);
  return {line.substr(0, sp), rest == std::string::npos ? "" : line.substr(rest)};
}

class ConformanceCase : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "image builds need root (ownership, overlay views)";
    char t[] = "/tmp/imgbuild-conf-XXXXXX";
    dir_ = mkdtemp(t);
    root_ = dir_ + "/root";
    int code;
    // The users and groups of Docker Hub's busybox, which BuildKit's tests name.
    std::string out = Sh(std::string(IMGBUILD_SOURCE_DIR) + "/testdata/busybox/make-context.sh " + dir_ + "/busybox && cp " +
                             IMGBUILD_SOURCE_DIR + "/tests/conformance/busybox-etc/passwd " + IMGBUILD_SOURCE_DIR +
                             "/tests/conformance/busybox-etc/group " + dir_ + "/busybox/rootfs/etc/",
                         &code);
    ASSERT_EQ(code, 0) << out;
    RunResult r = RunImgbuild("build --root " + root_ + " -t busybox " + dir_ + "/busybox");
    ASSERT_EQ(r.code, 0) << r.err;
  }
  void TearDown() override {
    if (dir_.empty()) return;
    RemoveTestDir(dir_);
  }
  std::string dir_, root_;
};

struct Check {
  int line;
  std::string kind, path, value;
};

TEST_P(ConformanceCase, MatchesBuildKit) {
  const std::string src = kCases + "/" + GetParam();
  const std::string ctx = dir_ + "/context", out = dir_ + "/out";
  int code;
  if (fs::exists(src + "/context")) {
    std::string o = Sh("cp -a '" + src + "/context' '" + ctx + "'", &code);
    ASSERT_EQ(code, 0) << o;
  } else {
    fs::create_directories(ctx);
  }
  fs::copy_file(src + "/Buildfile", ctx + "/Buildfile", fs::copy_options::overwrite_existing);
  if (fs::exists(src + "/setup.sh")) {
    std::string o = Sh("cd '" + ctx + "' && sh '" + src + "/setup.sh'", &code);
    ASSERT_EQ(code, 0) << "setup.sh: " << o;
  }

  std::string args;
  std::vector<std::string> fails_with;
  std::vector<Check> checks;
  std::ifstream in(src + "/case");
  ASSERT_TRUE(in) << "no case file in " << src;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.empty() || line[0] == '#') continue;
    auto [kw, rest] = Word(line);
    if (kw == "args:") {
      for (size_t at; (at = rest.find("{context}")) != std::string::npos;) rest.replace(at, 9, ctx);
      args += " " + rest;
    } else if (kw == "fails-with:") {
      fails_with.push_back(Unescape(rest));
    } else if (kw == "stderr:" || kw == "no-stderr:" || kw == "warnings:") {
      checks.push_back({n, kw, "", Unescape(rest)});
    } else {
      auto [path, value] = Word(rest);
      checks.push_back({n, kw, path, value});
    }
  }

  RunResult r = RunImgbuild("build --progress=plain --network=none --root " + root_ + " -t conformance:case -o type=local,dest=" + out +
                            args + " " + ctx);
  if (!fails_with.empty()) {
    ASSERT_NE(r.code, 0) << "the build should fail; it did not:\n" << r.err;
    for (const auto& text : fails_with) EXPECT_NE(r.err.find(text), std::string::npos) << "stderr lacks: " << text << "\n" << r.err;
    for (const Check& c : checks) {
      if (c.kind == "stderr:") {
        EXPECT_NE(r.err.find(c.value), std::string::npos) << "stderr lacks: " << c.value << "\n" << r.err;
      }
      if (c.kind == "warnings:") {
        EXPECT_EQ(std::to_string(CountOf(r.err, "warning: ")), c.value) << r.err;
      }
    }
    return;
  }
  ASSERT_EQ(r.code, 0) << r.err;

  nlohmann::json config;
  auto Config = [&]() -> const nlohmann::json& {
    if (config.is_null()) config = nlohmann::json::parse(RunImgbuild("inspect --root " + root_ + " conformance:case").out)["config"];
    return config;
  };
  for (const Check& c : checks) {
    SCOPED_TRACE("case line " + std::to_string(c.line) + ": " + c.kind + " " + c.path + " " + c.value);
    std::string p = out + c.path;
    struct stat st{};
    bool exists = ::lstat(p.c_str(), &st) == 0;
    if (c.kind == "stderr:") {
      EXPECT_NE(r.err.find(c.value), std::string::npos) << r.err;
    } else if (c.kind == "no-stderr:") {
      EXPECT_EQ(r.err.find(c.value), std::string::npos) << r.err;
    } else if (c.kind == "warnings:") {
      EXPECT_EQ(std::to_string(CountOf(r.err, "warning: ")), c.value) << r.err;
    } else if (c.kind == "absent") {
      EXPECT_FALSE(exists);
    } else if (c.kind == "config" || c.kind == "config-absent") {
      nlohmann::json::json_pointer ptr(c.path);
      if (c.kind == "config-absent") {
        EXPECT_FALSE(Config().contains(ptr)) << Config().dump(2);
        continue;
      }
      ASSERT_EQ(c.value.rfind("= ", 0), 0u) << "config needs '= JSON'";
      ASSERT_TRUE(Config().contains(ptr)) << Config().dump(2);
      EXPECT_EQ(Config().at(ptr), nlohmann::json::parse(c.value.substr(2)));
    } else {
      ASSERT_TRUE(exists) << c.path << " is not in the image";
      if (c.kind == "file") {
        ASSERT_EQ(c.value.rfind("=", 0), 0u) << "file needs '= TEXT'";
        std::string want = Unescape(c.value.size() > 1 ? c.value.substr(2) : "");
        EXPECT_TRUE(S_ISREG(st.st_mode));
        EXPECT_EQ(Slurp(p), want);
      } else if (c.kind == "contains") {
        EXPECT_NE(Slurp(p).find(Unescape(c.value)), std::string::npos) << Slurp(p);
      } else if (c.kind == "mode") {
        char buf[8];
        snprintf(buf, sizeof buf, "%04o", st.st_mode & 07777);
        EXPECT_EQ(buf, c.value);
      } else if (c.kind == "owner") {
        EXPECT_EQ(std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid), c.value);
      } else if (c.kind == "type") {
        std::string t = S_ISREG(st.st_mode) ? "file" : S_ISDIR(st.st_mode) ? "dir" : S_ISLNK(st.st_mode) ? "symlink" : S_ISFIFO(st.st_mode) ? "fifo" : "other";
        EXPECT_EQ(t, c.value);
      } else if (c.kind == "symlink") {
        ASSERT_TRUE(S_ISLNK(st.st_mode));
        ASSERT_EQ(c.value.rfind("-> ", 0), 0u) << "symlink needs '-> TARGET'";
        EXPECT_EQ(fs::read_symlink(p).string(), c.value.substr(3));
      } else {
        ADD_FAILURE() << "unknown check " << c.kind;
      }
    }
  }
}

std::string CaseName(const ::testing::TestParamInfo<std::string>& info) {
  std::string n = info.param;
  for (char& ch : n)
    if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(BuildKit, ConformanceCase, ::testing::ValuesIn(ListCases()), CaseName);

}  // namespace
}  // namespace imgbuild::testing
