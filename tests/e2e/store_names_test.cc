// Image names in the local store are normalised as Docker does: an image loaded from an archive
// that names it docker.io/library/busybox:latest is found by `FROM busybox`, `library/busybox` and
// the full name; an OCI layout that names its image only by a bare tag is loaded untagged.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

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
  r = RunImgbuild("images --format {{.Repository}}:{{.Tag}} --root " + other);
  EXPECT_NE(r.out.find("busybox:latest"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("docker.io/"), std::string::npos) << r.out;
  // Tagging under another spelling of a name replaces that name, it does not add a second one.
  r = RunImgbuild("tag --root " + other + " busybox docker.io/library/copy:1");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "copy:1\n");
  EXPECT_EQ(RunImgbuild("inspect --root " + other + " copy:1").code, 0);
  EXPECT_EQ(RunImgbuild("tag --root " + other + " busybox library/copy:1").code, 0);
  r = RunImgbuild("images --format {{.Repository}}:{{.Tag}} --root " + other);
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
  r = RunImgbuild("images --format {{.Repository}}:{{.Tag}} --root " + other);
  EXPECT_EQ(r.out.find("latest:latest"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("<none>"), std::string::npos) << r.out;
  // The untagged image is named later by its digest, or at load time with -t.
  ASSERT_EQ(RunImgbuild("tag --root " + other + " " + digest + " mine:1").code, 0);
  EXPECT_EQ(BuildFrom(other, "mine:1").code, 0);
  r = RunImgbuild("images --filter dangling=true --format {{.Digest}} --root " + other);
  EXPECT_EQ(r.out.find(digest), std::string::npos) << r.out;  // named now: no untagged twin
  r = RunImgbuild("load --root " + other + " -t named:2 -i " + dir_ + "/bare");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("loaded named:2 sha256:", 0), 0u) << r.out;
}

TEST_F(StoreNamesTest, ImagesAreNamedByIdsAndDigests) {
  RunResult r = Build("ids", "FROM busybox:local\nLABEL named=by-id\n", "--iidfile " + dir_ + "/iid");
  ASSERT_EQ(r.code, 0) << r.err;
  std::string id = Slurp(dir_ + "/iid");  // the config digest, as docker's image ID
  std::string manifest = r.out.substr(0, r.out.find('\n'));
  ASSERT_EQ(id.size(), 71u);
  // A config digest, a manifest digest, a short ID with or without sha256:, all name the image.
  for (const std::string& ref : {id, manifest, id.substr(7, 12), id.substr(0, 7 + 5), manifest.substr(7, 10)}) {
    SCOPED_TRACE(ref);
    r = RunImgbuild("tag --root " + root_ + " " + ref + " by-id:1");
    ASSERT_EQ(r.code, 0) << r.err;
    r = RunImgbuild("inspect --root " + root_ + " --format {{.Id}} " + ref);
    EXPECT_EQ(r.out, id + "\n") << r.err;
  }
  // The entry written is the manifest: skopeo reads the store.
  int code;
  std::string out = Sh("skopeo inspect oci:" + root_ + "/oci:by-id:1", &code);
  ASSERT_EQ(code, 0) << out;
  // A blob that is not an image manifest (a layer, the config's own bytes under another digest)
  // names nothing and the store stays readable.
  std::string layer = nlohmann::json::parse(Sh("skopeo inspect oci:" + root_ + "/oci:by-id:1"))["Layers"][0];
  r = RunImgbuild("tag --root " + root_ + " " + layer + " broken:1");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("not an image"), std::string::npos) << r.err;
  EXPECT_EQ(RunImgbuild("images --root " + root_).code, 0);
  // An index entry some other tool damaged (a config blob named as a manifest) is an error in
  // imgbuild's words, never a JSON library's.
  std::string index = Slurp(root_ + "/oci/index.json");
  auto j = nlohmann::json::parse(index);
  nlohmann::json bad = j["manifests"][0];
  bad["digest"] = id;
  bad["annotations"]["org.opencontainers.image.ref.name"] = "damaged:1";
  j["manifests"].push_back(bad);
  std::ofstream(root_ + "/oci/index.json") << j.dump();
  r = RunImgbuild("inspect --root " + root_ + " damaged:1");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.find("json.exception"), std::string::npos) << r.err;
  r = RunImgbuild("images --root " + root_);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("<unreadable>"), std::string::npos) << r.out;
  std::ofstream(root_ + "/oci/index.json") << index;
  Sh("skopeo inspect oci:" + root_ + "/oci:by-id:1", &code);
  EXPECT_EQ(code, 0);
  // `images` shows docker's image ID (12 hex of the config digest); rm and save take IDs too.
  r = RunImgbuild("images --root " + root_);
  EXPECT_NE(r.out.find(id.substr(7, 12)), std::string::npos) << r.out;
  r = RunImgbuild("save --root " + root_ + " -o " + dir_ + "/by-id.tar " + id.substr(7, 12));
  EXPECT_EQ(r.code, 0) << r.err;
  // rm by ID takes the image with its names; with several names, only when forced (docker's rule).
  ASSERT_EQ(RunImgbuild("tag --root " + root_ + " by-id:1 by-id:2").code, 0);
  r = RunImgbuild("rm --root " + root_ + " " + id.substr(7, 12));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("several names (by-id:1, by-id:2)"), std::string::npos) << r.err;
  r = RunImgbuild("rmi -f --root " + root_ + " " + id.substr(7, 12));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "untagged by-id:1\nuntagged by-id:2\n");
  EXPECT_NE(RunImgbuild("inspect --root " + root_ + " by-id:2").code, 0);
}

TEST_F(StoreNamesTest, MissingBaseNearAStageNameSuggestsTheStage) {
  RunResult r = Build("typo", "FROM busybox:local AS base\nRUN true\nFROM bse\nRUN true\n", "--pull=never");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("FROM bse: no such image in the local store"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("(did you mean the stage base?)"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace imgbuild::testing
