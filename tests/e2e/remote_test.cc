// ADD of URLs and Git repositories, and remote named contexts, against servers of the test's own
// on 127.0.0.1: tests/e2e/file_server.py (ETag, redirects, 404, a slow body, Content-Disposition)
// and a local Git repository served by git's dumb HTTP protocol from the same server.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "busybox_fixture.h"
#include "run_util.h"

namespace imgbuild::testing {
namespace {

namespace fs = std::filesystem;

class RemoteTest : public BusyboxTest {
 protected:
  void SetUp() override {
    BusyboxTest::SetUp();
    if (dir_.empty()) return;
    www_ = dir_ + "/www";
    fs::create_directories(www_);
    Put("tini", "#!/bin/sh\necho tini\n");
    int code;
    std::string out = Sh("cd " + www_ + " && mkdir a && echo inside > a/in.txt && tar -cf bundle.tar a && rm -r a", &code);
    ASSERT_EQ(code, 0) << out;
    // A Git repository with a branch, a tag and a subdirectory, served by dumb HTTP.
    out = Sh("set -e; g='git -c user.email=t@example.com -c user.name=t -c init.defaultBranch=main'; cd " + dir_ +
                 " && $g init -q repo && cd repo && mkdir -p sub/deep && echo one > a.txt && echo sub > sub/b.txt"
                 " && echo deep > sub/deep/c.txt && ln -s a.txt link && $g add . && GIT_COMMITTER_DATE=@1600000000"
                 " $g commit -qm one && $g tag v1 && echo two > a.txt && GIT_COMMITTER_DATE=@1700000000 $g commit -qam two"
                 " && cd .. && git clone -q --bare repo " + www_ + "/repo.git && git -C " + www_ +
                 "/repo.git update-server-info",
             &code);
    ASSERT_EQ(code, 0) << out;
    v1_ = Sh("git -C " + dir_ + "/repo rev-parse v1");
    v1_.pop_back();
    port_ = FreePort();
    server_ = ::fork();
    if (server_ == 0) {
      std::string script = std::string(IMGBUILD_SOURCE_DIR) + "/tests/e2e/file_server.py";
      ::freopen("/dev/null", "w", stdout);
      ::execl("/usr/bin/python3", "python3", script.c_str(), std::to_string(port_).c_str(), www_.c_str(),
              (dir_ + "/server.log").c_str(), nullptr);
      ::_exit(127);
    }
    for (int i = 0; i < 100; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      Sh("python3 -c 'import urllib.request; urllib.request.urlopen(\"" + Url("tini") + "\")'", &code);
      if (code == 0) break;
    }
    ASSERT_EQ(code, 0) << "the file server did not start";
    fs::remove(dir_ + "/server.log");
  }
  void TearDown() override {
    if (server_ > 0) {
      ::kill(server_, SIGKILL);
      ::waitpid(server_, nullptr, 0);
    }
    BusyboxTest::TearDown();
  }
  void Put(const std::string& name, const std::string& text) { std::ofstream(www_ + "/" + name) << text; }
  std::string Url(const std::string& path) { return "http://127.0.0.1:" + std::to_string(port_) + "/" + path; }
  // The server's answers so far ("200 /tini" lines), then forgotten.
  std::string Served() {
    std::string s = Slurp(dir_ + "/server.log");
    fs::remove(dir_ + "/server.log");
    return s;
  }
  // Builds with the network (the sandbox's default) and exports the root filesystem to OUT.
  RunResult BuildOut(const std::string& name, const std::string& buildfile, const std::string& args = "") {
    std::string ctx = dir_ + "/" + name;
    fs::create_directories(ctx);
    std::ofstream(ctx + "/Buildfile") << buildfile;
    fs::remove_all(dir_ + "/out");
    return RunImgbuild("build --progress=plain --root " + root_ + " -o type=local,dest=" + dir_ + "/out " + args +
                       " " + ctx);
  }
  static struct stat Stat(const std::string& path) {
    struct stat st {};
    ::lstat(path.c_str(), &st);
    return st;
  }
  std::string www_, v1_;
  int port_ = 0;
  pid_t server_ = -1;
};

TEST_F(RemoteTest, AddUrlFileNameModeTimeAndDestination) {
  Put("named.txt", "named\n");
  RunResult r = BuildOut("url", "FROM busybox:local\n"
                                "ADD " + Url("tini") + " /tini\n"
                                "ADD " + Url("tini") + " /dir/\n"
                                "ADD --chmod=755 --chown=1:2 " + Url("redirect/tini") + " /bin/\n"
                                "ADD " + Url("bundle.tar") + " /archives/\n"
                                "ADD --unpack=true " + Url("bundle.tar") + " /unpacked/\n"
                                "ADD " + Url("?name=named.txt") + " /named/\n");
  ASSERT_EQ(r.code, 0) << r.err;
  std::string out = dir_ + "/out";
  EXPECT_EQ(Slurp(out + "/tini"), "#!/bin/sh\necho tini\n");
  struct stat st = Stat(out + "/tini");
  EXPECT_EQ(st.st_mode & 07777, 0600u);       // BuildKit's mode for downloads
  EXPECT_EQ(st.st_mtime, 784887151);          // Last-Modified: Tue, 15 Nov 1994 08:12:31 GMT
  EXPECT_EQ(Slurp(out + "/dir/tini"), "#!/bin/sh\necho tini\n");
  st = Stat(out + "/bin/tini");               // the name comes from the URL asked for, not the redirect
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  EXPECT_EQ(st.st_uid, 1u);
  EXPECT_EQ(st.st_gid, 2u);
  EXPECT_TRUE(fs::is_regular_file(out + "/archives/bundle.tar"));  // archives from URLs stay archives
  EXPECT_FALSE(fs::exists(out + "/archives/a"));
  EXPECT_EQ(Slurp(out + "/unpacked/a/in.txt"), "inside\n");        // unless --unpack=true
  EXPECT_EQ(Slurp(out + "/named/named.txt"), "named\n");  // Content-Disposition, where the URL names no file
}

TEST_F(RemoteTest, ConditionalRequestsCacheAndChecksums) {
  std::string bf = "FROM busybox:local\nADD " + Url("tini") + " /tini\nRUN cat /tini\n";
  RunResult r = BuildOut("cache", bf);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Served(), "200 /tini\n");
  // Unchanged: a conditional request answered 304, and every step from the cache.
  r = BuildOut("cache", bf);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Served(), "304 /tini\n");
  EXPECT_EQ(CountOf(r.err, "CACHED"), 2u) << r.err;
  // Changed on the server: downloaded again, the ADD and what follows run.
  Put("tini", "#!/bin/sh\necho tini 2\n");
  r = BuildOut("cache", bf, "--explain-cache");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Served(), "200 /tini\n");
  EXPECT_EQ(CountOf(r.err, "CACHED"), 0u) << r.err;
  EXPECT_NE(r.err.find("source " + Url("tini") + " changed"), std::string::npos) << r.err;
  EXPECT_EQ(Slurp(dir_ + "/out/tini"), "#!/bin/sh\necho tini 2\n");

  // --checksum: the right one builds; a wrong one fails before anything is written.
  std::string sum = Sh("sha256sum " + www_ + "/tini | cut -c1-64");
  sum.pop_back();
  r = BuildOut("sum", "FROM busybox:local\nADD --checksum=sha256:" + sum + " " + Url("slow/tini") + " /t\n");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Slurp(dir_ + "/out/t"), "#!/bin/sh\necho tini 2\n");
  std::string wrong(64, '0');
  r = BuildOut("badsum", "FROM busybox:local\nADD --checksum=sha256:" + wrong + " " + Url("slow/tini") + " /t\n");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("Buildfile:2: ADD: " + Url("slow/tini") + ": checksum mismatch: --checksum=sha256:" + wrong +
                       ", the content has sha256:" + sum),
            std::string::npos)
      << r.err;
  // Nothing of the refused download was kept beside the good ones.
  for (const auto& e : fs::recursive_directory_iterator(root_ + "/remote/http")) {
    EXPECT_EQ(e.path().filename().string().rfind(".download", 0), std::string::npos) << e.path();
  }
  r = BuildOut("missing", "FROM busybox:local\nADD " + Url("nope") + " /t\n");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("Buildfile:2: ADD: " + Url("nope") + ": the server answered HTTP 404 (not found)"),
            std::string::npos)
      << r.err;
  // The build's network mode applies to ADD too.
  r = BuildOut("offline", bf, "--network=none");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("remote sources need the network, and this build has none (--network=none)"), std::string::npos)
      << r.err;
  // COPY never takes a URL.
  r = BuildOut("copy", "FROM busybox:local\nCOPY " + Url("tini") + " /t\n");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("source can't be a URL or a Git repository for COPY"), std::string::npos) << r.err;
}

TEST_F(RemoteTest, AddGitRepositories) {
  std::string repo = Url("repo.git");
  RunResult r = BuildOut("git", "FROM busybox:local\n"
                                "ADD " + repo + " /src/\n"
                                "ADD " + repo + "#v1:sub /sub/\n"
                                "ADD --checksum=" + v1_.substr(0, 12) + " " + repo + "#v1 /v1/\n"
                                "ADD --keep-git-dir=true " + repo + "#main /kept/\n");
  ASSERT_EQ(r.code, 0) << r.err;
  std::string out = dir_ + "/out";
  EXPECT_EQ(Slurp(out + "/src/a.txt"), "two\n");  // the default branch's head
  EXPECT_EQ(fs::read_symlink(out + "/src/link").string(), "a.txt");
  EXPECT_FALSE(fs::exists(out + "/src/.git"));
  EXPECT_EQ(Stat(out + "/src/a.txt").st_mtime, 1700000000);  // the commit's time: one commit, one layer
  EXPECT_EQ(Slurp(out + "/sub/b.txt"), "sub\n");
  EXPECT_EQ(Slurp(out + "/sub/deep/c.txt"), "deep\n");
  EXPECT_FALSE(fs::exists(out + "/sub/a.txt"));
  EXPECT_EQ(Slurp(out + "/v1/a.txt"), "one\n");
  EXPECT_TRUE(fs::is_directory(out + "/kept/.git"));
  int code;
  std::string head = Sh("git --git-dir " + out + "/kept/.git rev-parse HEAD", &code);
  EXPECT_EQ(code, 0) << head;
  EXPECT_EQ(head, Sh("git -C " + dir_ + "/repo rev-parse main"));

  // Keyed by the commit: an unchanged repository hits; a new commit on the branch misses.
  r = BuildOut("git", "FROM busybox:local\nADD " + repo + " /src/\n");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(CountOf(r.err, "CACHED"), 1u) << r.err;
  Sh("cd " + dir_ + "/repo && echo three > a.txt && git -c user.email=t@example.com -c user.name=t commit -qam three"
     " && git push -q " + www_ + "/repo.git main && git -C " + www_ + "/repo.git update-server-info");
  r = BuildOut("git", "FROM busybox:local\nADD " + repo + " /src/\n");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(CountOf(r.err, "CACHED"), 0u) << r.err;
  EXPECT_EQ(Slurp(out + "/src/a.txt"), "three\n");

  r = BuildOut("gitsum", "FROM busybox:local\nADD --checksum=0123456789ab " + repo + "#v1 /v1/\n");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("checksum mismatch: the ref is commit " + v1_), std::string::npos) << r.err;
  r = BuildOut("noref", "FROM busybox:local\nADD " + repo + "#no-such-branch /x/\n");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no branch, tag or commit named \"no-such-branch\""), std::string::npos) << r.err;
  r = BuildOut("nodir", "FROM busybox:local\nADD " + repo + "#v1:nothere /x/\n");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no directory nothere"), std::string::npos) << r.err;
  // A subdirectory reached through a symlink of the repository is refused, never followed.
  r = BuildOut("linkdir", "FROM busybox:local\nADD " + repo + "#main:link /x/\n");
  EXPECT_EQ(r.code, 1);
}

TEST_F(RemoteTest, RemoteNamedContexts) {
  RunResult r = BuildOut("contexts", "FROM img\nCOPY --from=tarball a/in.txt /from-tar\nCOPY --from=git sub/b.txt /from-git\n",
                         "--build-context img=docker-image://busybox:local --build-context tarball=" + Url("bundle.tar") +
                             " --build-context git=" + Url("repo.git") + "#v1");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Slurp(dir_ + "/out/from-tar"), "inside\n");
  EXPECT_EQ(Slurp(dir_ + "/out/from-git"), "sub\n");
  EXPECT_TRUE(fs::exists(dir_ + "/out/bin/busybox"));
  r = BuildOut("contexts", "FROM busybox:local\nCOPY --from=c x /x\n", "--build-context c=" + Url("tini"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("a remote build context must be a tar archive or a Git repository"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace imgbuild::testing
