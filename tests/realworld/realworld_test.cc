// Real Dockerfiles of the kinds users build, on a Debian base made by debootstrap (apt reaching
// Debian's archive from RUN): each is built, its root filesystem checked, run with podman,
// rebuilt with every step from the cache, and rebuilt after a one-line change (only the changed
// step and what depends on it run). Slow: they download Debian packages.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "../e2e/run_util.h"

namespace imgbuild::testing {
namespace {

namespace fs = std::filesystem;

struct FileCheck {
  std::string path;
  std::string owner;  // "uid:gid", or "" to check existence only
};

struct Case {
  std::string name;
  std::vector<FileCheck> present;
  std::vector<std::string> absent;      // paths (a trailing '*' matches a prefix)
  std::string run_args, run_expect;     // podman run ARGS, a line its output must hold
  std::string change_file, change_from, change_to;
  int steps_after_change;               // steps that must run after the change
};

// Test names and messages show the case's name, not its bytes.
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

const std::vector<Case>& Cases() {
  static const std::vector<Case> cases = {
      {"buildpack-curl",
       {{"etc/ssl/certs/NetLock_Arany_=Class_Gold=_F\xC5\x91tan\xC3\xBAs\xC3\xADtv\xC3\xA1ny.pem", ""},
        {"usr/bin/curl", "0:0"}, {"usr/bin/git", "0:0"}, {"usr/bin/ssh", "0:0"}},
       {"var/lib/apt/lists/deb.debian.org*"},
       "sh -c 'curl --version | head -1; git --version'", "git version 2.39",
       "Buildfile", "(imgbuild real-world test)", "(imgbuild real-world test, changed)", 1},
      {"c-static",
       {{"hello", "0:0"}},
       {"bin", "usr", "etc"},
       "", "hello from a static binary",
       "hello.c", "hello from a static binary", "hello again from a static binary", 5},
      {"user-app",
       {{"home/app/app.sh", "1001:1001"}, {"home/app/settings.conf", "1001:1001"}},
       {},
       "", "hello from the app as app in /home/app, mode=production",
       "config/settings.conf", "mode=production", "mode=staging", 7},
      {"apt-cache-mount",
       {{"usr/bin/jq", "0:0"}, {"jq-version", "0:0"}},
       {"var/cache/apt/archives/jq*"},  // downloaded into the cache mount, never into the image
       "jq --version", "jq-1.6",
       "Buildfile", "jq --version > /jq-version", "jq --version > /jq-version && true", 1},
  };
  return cases;
}

// The Debian base is made once per build tree (debootstrap takes ~30 s) and reused.
std::string BaseContext() {
  static std::string context;
  static std::string error;
  if (context.empty() && error.empty()) {
    std::string out_dir = std::string(IMGBUILD_BINARY_DIR) + "/realworld-base";
    int code;
    std::string out = Sh(std::string(IMGBUILD_SOURCE_DIR) + "/tests/realworld/make-debian-base.sh " + out_dir, &code);
    if (code == 0) {
      context = out_dir + "/context";
    } else {
      error = out;
    }
  }
  if (!error.empty()) ADD_FAILURE() << "making the Debian base failed: " << error;
  return context;
}

class RealWorldTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "image builds need root";
    char t[] = "/tmp/imgbuild-realworld-XXXXXX";
    dir_ = mkdtemp(t);
    root_ = dir_ + "/root";
    std::string base = BaseContext();
    ASSERT_FALSE(base.empty());
    RunResult r = RunImgbuild("build --progress=plain --root " + root_ + " -t debian:bookworm " + base);
    ASSERT_EQ(r.code, 0) << r.err;
    ctx_ = dir_ + "/ctx";
    fs::copy(std::string(IMGBUILD_SOURCE_DIR) + "/tests/realworld/cases/" + GetParam().name, ctx_,
             fs::copy_options::recursive);
  }
  void TearDown() override {
    if (dir_.empty()) return;
    RemoveTestDir(dir_);
  }
  RunResult Build(const std::string& args = "") {
    return RunImgbuild("build --progress=plain --root " + root_ + " -t rw:" + GetParam().name + " " + args + " " + ctx_);
  }
  static int Count(const std::string& output, const std::regex& re) {
    std::string text = "\n" + output;
    return static_cast<int>(std::distance(std::sregex_iterator(text.begin(), text.end(), re), std::sregex_iterator()));
  }
  std::string dir_, root_, ctx_;
};

TEST_P(RealWorldTest, BuildsRunsAndRebuildsFromTheCache) {
  const Case& c = GetParam();
  RunResult r = Build("-o type=local,dest=" + dir_ + "/rootfs");
  ASSERT_EQ(r.code, 0) << r.err;
  static const std::regex kDone(R"(\n#\d+ DONE )"), kCached(R"(\n#\d+ CACHED)"), kStep(R"(\n#\d+ \[)");
  int steps = Count(r.err, kStep);
  EXPECT_EQ(Count(r.err, kDone), steps) << r.err;

  // The root filesystem, as listed.
  for (const FileCheck& f : c.present) {
    struct stat st;
    std::string p = dir_ + "/rootfs/" + f.path;
    ASSERT_EQ(::lstat(p.c_str(), &st), 0) << "missing " << f.path;
    if (!f.owner.empty()) {
      EXPECT_EQ(std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid), f.owner) << f.path;
    }
  }
  for (const std::string& a : c.absent) {
    if (a.back() == '*') {
      fs::path pattern = dir_ + "/rootfs/" + a.substr(0, a.size() - 1);
      if (!fs::exists(pattern.parent_path())) continue;
      for (const auto& e : fs::directory_iterator(pattern.parent_path())) {
        EXPECT_NE(e.path().filename().string().rfind(pattern.filename().string(), 0), 0u) << "unexpected " << e.path();
      }
    } else {
      EXPECT_FALSE(fs::exists(dir_ + "/rootfs/" + a)) << "unexpected " << a;
    }
  }

  // podman runs the image.
  std::string tar = dir_ + "/image.tar";
  r = RunImgbuild("save --root " + root_ + " --format docker rw:" + c.name + " -o " + tar);
  ASSERT_EQ(r.code, 0) << r.err;
  std::string podman = "podman --root " + dir_ + "/podman --runroot " + dir_ + "/podman-run --runtime runc ";
  int code;
  std::string out = Sh(podman + "load -i " + tar, &code);
  ASSERT_EQ(code, 0) << out;
  out = Sh("timeout 120 " + podman + "run --rm --network none --ulimit nofile=20000:20000 --ulimit nproc=4096:4096 rw:" +
               c.name + " " + c.run_args,
           &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find(c.run_expect), std::string::npos) << out;
  Sh(podman + "rmi -a -f");

  // An unchanged rebuild: every step from the cache.
  r = Build();
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Count(r.err, kCached), steps) << r.err;
  EXPECT_EQ(Count(r.err, kDone), 0) << r.err;

  // One line changed: only the step that reads it and the ones after it run.
  std::string file = ctx_ + "/" + c.change_file;
  std::string text = Slurp(file);
  size_t at = text.find(c.change_from);
  ASSERT_NE(at, std::string::npos);
  text.replace(at, c.change_from.size(), c.change_to);
  std::ofstream(file) << text;
  r = Build();
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Count(r.err, kDone), c.steps_after_change) << r.err;
  EXPECT_EQ(Count(r.err, kCached), steps - c.steps_after_change) << r.err;
}

INSTANTIATE_TEST_SUITE_P(Cases, RealWorldTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Case>& param_info) {
                           std::string n = param_info.param.name;
                           for (char& ch : n) ch = ch == '-' ? '_' : ch;
                           return n;
                         });

}  // namespace
}  // namespace imgbuild::testing
