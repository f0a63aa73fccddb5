// Security: paths that try to leave their root (issue 12, items 1-4). A symlink made by a RUN, shipped
// in a base image, left in another stage or placed in the build context is followed inside its own
// root only; a COPY never writes through one onto the host, never reads a host file through one,
// and .dockerignore cannot be bypassed with one. Mount stubs are removed only where imgbuild made
// them. Each test plants a host "victim" directory and checks it afterwards, whatever the build did.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "../e2e/busybox_fixture.h"

namespace imgbuild::testing {
namespace {

namespace fs = std::filesystem;

class PathEscapeTest : public BusyboxTest {
 protected:
  void SetUp() override {
    BusyboxTest::SetUp();
    if (IsSkipped()) return;
    victim_ = dir_ + "/host-victim";  // stands for any host directory (/etc, /root/.ssh, ...)
    fs::create_directories(victim_);
    std::ofstream(victim_ + "/secret.txt") << "host secret\n";
    ::chmod(victim_.c_str(), 0700);
  }
  // The victim directory is exactly as planted: same files, same mode, same owner.
  void ExpectVictimUntouched() {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(victim_)) names.push_back(e.path().filename().string());
    EXPECT_EQ(names, std::vector<std::string>{"secret.txt"});
    struct stat st;
    ASSERT_EQ(::stat(victim_.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u);
    EXPECT_EQ(st.st_uid, 0u);
    EXPECT_EQ(Slurp(victim_ + "/secret.txt"), "host secret\n");
  }
  std::string Context(const std::string& name) {
    std::string ctx = dir_ + "/" + name;
    fs::create_directories(ctx);
    return ctx;
  }
  std::string victim_;
};

// Item 1: a RUN points /dst/sub at a host directory; COPY dir/ /dst/ with dir/sub/evil in the
// context. BuildKit refuses to merge a directory into a symlink, and so does imgbuild.
TEST_F(PathEscapeTest, CopyNeverWritesThroughASymlinkTheImageMade) {
  std::string ctx = Context("into-link");
  fs::create_directories(ctx + "/dir/sub");
  std::ofstream(ctx + "/dir/sub/evil") << "planted\n";
  RunResult r = Build("into-link", "FROM busybox:local\nRUN mkdir /dst && ln -s " + victim_ +
                                       " /dst/sub\nCOPY --chown=1000:1000 dir/ /dst/\n");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("cannot copy to non-directory: /dst/sub"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Buildfile:3"), std::string::npos) << r.err;
  ExpectVictimUntouched();
}

// Item 1, the same symlink shipped in a base image (made by one build, used FROM by another);
// a single file copied to a path through it lands inside the image, where the link points there.
TEST_F(PathEscapeTest, CopyThroughABaseImageSymlinkStaysInTheImage) {
  RunResult base = Build("base", "FROM busybox:local\nRUN mkdir /dst && ln -s " + victim_ + " /dst/sub\n", "-t linked:1");
  ASSERT_EQ(base.code, 0) << base.err;
  std::string ctx = Context("from-base");
  fs::create_directories(ctx + "/dir/sub");
  std::ofstream(ctx + "/dir/sub/evil") << "planted\n";
  std::ofstream(ctx + "/one") << "one file\n";
  RunResult r = Build("from-base", "FROM linked:1\nCOPY dir/ /dst/\n");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("cannot copy to non-directory"), std::string::npos) << r.err;
  ExpectVictimUntouched();
  // Into the link itself: followed inside the image (the file lands at <image>/<victim path>).
  r = Build("from-base", "FROM linked:1\nCOPY one /dst/sub/\nRUN cat " + victim_ + "/one\n",
            "-o type=local,dest=" + dir_ + "/out");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Slurp(dir_ + "/out" + victim_ + "/one"), "one file\n");
  ExpectVictimUntouched();
}

// Item 2: a stage's symlink to a host directory, read by COPY --from (a path, a wildcard) and by a
// cache mount seeded from the stage: all resolve inside the stage, where nothing is.
TEST_F(PathEscapeTest, CopyFromAStageSymlinkNeverReadsTheHost) {
  const std::string stage = "FROM busybox:local AS s\nRUN ln -s " + victim_ + " /l\n";
  for (const std::string& line : {std::string("COPY --from=s /l/secret.txt /a"), std::string("COPY --from=s /l/*.txt /b/")}) {
    RunResult r = Build("from-stage", stage + "FROM busybox:local\n" + line + "\n", "-o type=local,dest=" + dir_ + "/o1");
    // A path fails ("not found"); a pattern matches nothing inside the stage, which BuildKit
    // allows (AllowEmptyWildcard): either way the host's file is not in the image.
    if (line.find('*') == std::string::npos) {
      EXPECT_NE(r.code, 0) << line;
    }
    EXPECT_EQ(r.out.find("host secret"), std::string::npos);
    EXPECT_FALSE(fs::exists(dir_ + "/o1/a")) << line;
    EXPECT_FALSE(fs::exists(dir_ + "/o1/b/secret.txt")) << line;
  }
  RunResult r = Build("from-stage",
                      stage + "FROM busybox:local\nRUN --mount=type=cache,id=c1,from=s,source=/l,target=/c "
                              "cat /c/secret.txt > /got || echo none > /got\n",
                      "-o type=local,dest=" + dir_ + "/o2");
  // Refused with a clear error, or seeded with nothing: never the host's file.
  if (r.code == 0) {
    EXPECT_EQ(Slurp(dir_ + "/o2/got"), "none\n");
  } else {
    EXPECT_NE(r.err.find("\"l\" is a symlink to something outside or missing"), std::string::npos) << r.err;
  }
  // A bind mount of the stage's link: the same.
  r = Build("from-stage",
            stage + "FROM busybox:local\nRUN --mount=from=s,source=/l,target=/c cat /c/secret.txt > /got || echo none > /got\n",
            "-o type=local,dest=" + dir_ + "/o3");
  if (r.code == 0) {
    EXPECT_EQ(Slurp(dir_ + "/o3/got"), "none\n");
  }
  EXPECT_EQ(r.err.find("host secret"), std::string::npos);
}

// Item 3: symlinks inside the build context, absolute or climbing out, used as a directory on
// the way to a file, a wildcard's directory or an archive to unpack: nothing outside is read.
TEST_F(PathEscapeTest, ContextSymlinksStayInTheContext) {
  std::string ctx = Context("ctx-links");
  fs::create_symlink(victim_, ctx + "/hostdir");
  fs::create_symlink("../host-victim", ctx + "/updir");
  Sh("tar -cf " + victim_ + "/x.tar -C " + victim_ + " secret.txt");
  for (const std::string line : {"COPY hostdir/secret.txt /a", "COPY updir/secret.txt /a", "COPY hostdir/*.txt /b/",
                                  "COPY updir/*.txt /b/", "ADD hostdir/x.tar /c/", "ADD updir/x.tar /c/"}) {
    fs::remove_all(dir_ + "/out");
    RunResult r = Build("ctx-links", "FROM busybox:local\n" + line + "\n", "-o type=local,dest=" + dir_ + "/out");
    // Paths fail; a pattern through the link matches nothing inside the context (allowed, as
    // BuildKit's AllowEmptyWildcard): the host's file is never in the image.
    if (line.find('*') == std::string::npos) {
      EXPECT_NE(r.code, 0) << line << "\n" << r.err;
    }
    EXPECT_FALSE(fs::exists(dir_ + "/out/a") || fs::exists(dir_ + "/out/b/secret.txt") || fs::exists(dir_ + "/out/c")) << line;
  }
  fs::remove(victim_ + "/x.tar");
  // A link that stays inside the context works as it does in BuildKit.
  fs::create_directories(ctx + "/real");
  std::ofstream(ctx + "/real/ok.txt") << "inside\n";
  fs::create_symlink("real", ctx + "/inlink");
  RunResult r = Build("ctx-links", "FROM busybox:local\nCOPY inlink/ok.txt /ok\n", "-o type=local,dest=" + dir_ + "/in");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Slurp(dir_ + "/in/ok"), "inside\n");
  ExpectVictimUntouched();
}

// Item 3: .dockerignore is asked about the file a name leads to, not the name.
TEST_F(PathEscapeTest, DockerignoreCannotBeBypassedWithASymlink) {
  std::string ctx = Context("ignored");
  std::ofstream(ctx + "/secret.env") << "TOKEN=1\n";
  fs::create_directories(ctx + "/dir");
  std::ofstream(ctx + "/dir/secret.env") << "TOKEN=2\n";
  std::ofstream(ctx + "/.dockerignore") << "secret.env\ndir/secret.env\n";
  fs::create_symlink("secret.env", ctx + "/link");
  fs::create_symlink("dir", ctx + "/linkdir");
  for (const std::string line : {"COPY link /x", "COPY linkdir/secret.env /x", "COPY linkdir/*.env /x/"}) {
    RunResult r = Build("ignored", "FROM busybox:local\n" + line + "\n", "-o type=local,dest=" + dir_ + "/out");
    EXPECT_NE(r.code, 0) << line;
    EXPECT_FALSE(fs::exists(dir_ + "/out/x")) << line;
  }
  // The directory through the link, copied whole, leaves the ignored file out.
  RunResult r = Build("ignored", "FROM busybox:local\nCOPY linkdir /d\n", "-o type=local,dest=" + dir_ + "/dd");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_FALSE(fs::exists(dir_ + "/dd/d/secret.env"));
}

// Item 4: a RUN moves a mount stub's parent away and puts a symlink to a host directory in its
// place; removing the stubs after the RUN must not touch what the symlink leads to.
TEST_F(PathEscapeTest, MountStubsAreRemovedOnlyWhereTheyWereMade) {
  fs::create_directories(victim_ + "/target");  // an empty directory a stub removal could rmdir
  std::ofstream(victim_ + "/empty");
  std::string ctx = Context("stubs");
  std::ofstream(ctx + "/f");
  fs::create_directories(ctx + "/d");
  RunResult r = Build("stubs", "FROM busybox:local\nRUN --mount=type=bind,source=d,target=/m/target "
                               "--mount=type=bind,source=f,target=/m/empty "
                               "mv /m /moved && ln -s " + victim_ + " /m\n");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(fs::is_directory(victim_ + "/target"));
  EXPECT_TRUE(fs::exists(victim_ + "/empty"));
  fs::remove(victim_ + "/target");
  fs::remove(victim_ + "/empty");
  ExpectVictimUntouched();
}

}  // namespace
}  // namespace imgbuild::testing
