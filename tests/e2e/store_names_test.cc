// Image names in the local store are normalised as Docker does: an image loaded from an archive
// that names it docker.io/library/busybox:latest is found by `FROM busybox`, `library/busybox` and
// the full name; an OCI layout that names its image only by a bare tag is loaded untagged.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "busybox_fixture.h"
#include "run_util.h"

namespace imgbuild::testing {
namespace {

namespace fs = std::filesystem;

class StoreNamesTest : public BusyboxTest {
 protected:
  // busybox:local exported by skopeo as `dest` (a skopeo transport and reference).
  void SkopeoCopy(const std::string& dest) {
    RunResult r = RunImgbuild("build --root " + root_ + " -o type=oci,dest=" + dir_ + "/bb-oci,tar=false " + dir_ + "/busybox");
    ASSERT_EQ(r.code, 0) << r.err;
    int code;
    std::string out = Sh("skopeo copy oci:" + dir_ + "/bb-oci:latest " + dest, &code);
    ASSERT_EQ(code, 0) << out;
  }
  RunResult BuildFrom(const std::string& root, const std::string& from) {
    fs::create_directories(dir_ + "/from");
    std::ofstream(dir_ + "/from/Buildfile") << "FROM " << from << "\nRUN test -x /bin/busybox\n";
    return RunImgbuild("build --progress=plain --pull=never --network=none --root " + root + " " + dir_ + "/from");
  }
};

TEST_F(StoreNamesTest, DockerArchiveNamesAreNormalised) {
  // As `podman save` and skopeo write it: RepoTags holds the fully qualified name.
  SkopeoCopy("docker-archive:" + dir_ + "/bb.tar:docker.io/library/busybox:latest");
  std::string other = dir_ + "/other";
  RunResult r = RunImgbuild("load --root " + other + " -i " + dir_ + "/bb.tar");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("loaded busybox:latest sha256:", 0), 0u) << r.out;
  for (const char* from : {"busybox", "busybox:latest", "library/busybox", "docker.io/library/busybox:latest",
                           "index.docker.io/library/busybox"}) {
    SCOPED_TRACE(from);
    r = BuildFrom(other, from);
    EXPECT_EQ(r.code, 0) << r.err;
  }
  r = RunImgbuild("images --root " + other);
  EXPECT_NE(r.out.find("busybox:latest"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("docker.io/"), std::string::npos) << r.out;
  // Tagging under another spelling of a name replaces that name, it does not add a second one.
  r = RunImgbuild("tag --root " + other + " busybox docker.io/library/copy:1");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "copy:1\n");
  EXPECT_EQ(RunImgbuild("inspect --root " + other + " copy:1").code, 0);
  EXPECT_EQ(RunImgbuild("tag --root " + other + " busybox library/copy:1").code, 0);
  r = RunImgbuild("images --root " + other);
  EXPECT_EQ(CountOf(r.out, "copy:1"), 1u) << r.out;
  EXPECT_EQ(RunImgbuild("rm --root " + other + " docker.io/library/copy:1").code, 0);
  EXPECT_NE(RunImgbuild("inspect --root " + other + " copy:1").code, 0);
}

TEST_F(StoreNamesTest, BareTagLayoutsLoadUntagged) {
  // skopeo and buildah name an OCI layout's image by its tag alone.
  SkopeoCopy("oci:" + dir_ + "/bare:latest");
  std::string other = dir_ + "/other";
  RunResult r = RunImgbuild("load --root " + other + " -i " + dir_ + "/bare");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("loaded <untagged> sha256:", 0), 0u) << r.out;
  EXPECT_NE(r.err.find("only by the tag \"latest\""), std::string::npos) << r.err;
  std::string digest = r.out.substr(r.out.find("sha256:"), 71);
  r = RunImgbuild("images --root " + other);
  EXPECT_EQ(r.out.find("latest:latest"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("<none>"), std::string::npos) << r.out;
  // The untagged image is named later by its digest, or at load time with -t.
  ASSERT_EQ(RunImgbuild("tag --root " + other + " " + digest + " mine:1").code, 0);
  EXPECT_EQ(BuildFrom(other, "mine:1").code, 0);
  r = RunImgbuild("images --root " + other);
  EXPECT_EQ(r.out.find("<none>"), std::string::npos) << r.out;  // named now: no untagged twin
  r = RunImgbuild("load --root " + other + " -t named:2 -i " + dir_ + "/bare");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("loaded named:2 sha256:", 0), 0u) << r.out;
}

TEST_F(StoreNamesTest, MissingBaseNearAStageNameSuggestsTheStage) {
  RunResult r = Build("typo", "FROM busybox:local AS base\nRUN true\nFROM bse\nRUN true\n", "--pull=never");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("FROM bse: no such image in the local store"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(did you mean the stage base?)"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace imgbuild::testing
