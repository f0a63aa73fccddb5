// Security: what an archive names is data inside the archive. ADD of a tar never turns `.wh.`
// entries into deletions (issue 12, item 13), and `load` resolves every path manifest.json or
// index.json names inside the unpacked archive, so `../` or a symlink never reads a host file (item 5).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../e2e/busybox_fixture.h"
#include "../layers/tar_maker.h"

namespace imgbuild::testing {
namespace {

namespace fs = std::filesystem;

using ArchiveDataTest = BusyboxTest;

// The archive unpacks as plain files (nothing of the snapshot is deleted: the applier's unit test
// pins that), but an image layer cannot hold a `.wh.` name: the step fails with a clear error
// instead of shipping a layer that would delete /etc/passwd and empty /bin wherever it is unpacked.
TEST_F(ArchiveDataTest, AddedArchiveWhiteoutNamesDeleteNothing) {
  std::string ctx = dir_ + "/wh";
  fs::create_directories(ctx);
  {
    TarMaker t(ctx + "/third-party.tar");
    t.Dir("etc/").File("etc/.wh.passwd", "").Dir("bin/").File("bin/.wh..wh..opq", "");
    t.File("etc/shipped", "data\n");
  }
  RunResult r = Build("wh", "FROM busybox:local\nADD third-party.tar /\n", "-t poisoned:1");
  EXPECT_NE(r.code, 0);
  std::string all = r.out + r.err;
  EXPECT_NE(all.find("reserved for whiteouts"), std::string::npos) << all;
  EXPECT_NE(all.find("/.wh."), std::string::npos) << all;
  EXPECT_EQ(RunImgbuild("images --json --root " + root_).out.find("poisoned"), std::string::npos);
  // The same content without the reserved names builds, and the image keeps every base file.
  {
    TarMaker t(ctx + "/third-party.tar");
    t.Dir("etc/").File("etc/shipped", "data\n");
  }
  r = Build("wh", "FROM busybox:local\nADD third-party.tar /\n", "-o type=local,dest=" + dir_ + "/out");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(fs::is_regular_file(dir_ + "/out/etc/passwd"));
  EXPECT_TRUE(fs::is_regular_file(dir_ + "/out/bin/busybox"));
  EXPECT_EQ(Slurp(dir_ + "/out/etc/shipped"), "data\n");
}

// The same hole from a RUN: a file it names .wh.X would delete X from the image.
// An ADDed archive may pass through symlinks (BuildKit unpacks in a chroot of the destination):
// its own links to /, to ../.. or to a host path all resolve inside the destination, so nothing
// lands outside the image whatever the links say.
TEST_F(ArchiveDataTest, AddedArchiveSymlinksStayInsideTheDestination) {
  std::string ctx = dir_ + "/links";
  fs::create_directories(ctx);
  std::string host = dir_ + "/host-target";
  fs::create_directories(host);
  {
    TarMaker t(ctx + "/links.tar");
    t.Symlink("up", "../../../..").File("up/escaped-up", "x\n");
    t.Symlink("abs", host).File("abs/escaped-abs", "x\n");
    t.Symlink("root", "/").File("root/at-root", "x\n");
  }
  RunResult r = Build("links", "FROM busybox:local\nADD links.tar /sub/\n", "-o type=local,dest=" + dir_ + "/out");
  ASSERT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_TRUE(fs::is_empty(host));
  EXPECT_FALSE(fs::exists(dir_ + "/escaped-up"));
  EXPECT_FALSE(fs::exists("/escaped-up"));
  EXPECT_FALSE(fs::exists("/at-root"));
  // Inside the destination: ../.. and / stop at /sub; the host path is a path inside /sub.
  EXPECT_EQ(Slurp(dir_ + "/out/sub/escaped-up"), "x\n");
  EXPECT_EQ(Slurp(dir_ + "/out/sub/at-root"), "x\n");
  EXPECT_EQ(Slurp(dir_ + "/out/sub" + host + "/escaped-abs"), "x\n");
}

TEST_F(ArchiveDataTest, RunCreatingAWhiteoutNameIsRefused) {
  RunResult r = Build("runwh", "FROM busybox:local\nRUN touch /etc/.wh.passwd\n");
  EXPECT_NE(r.code, 0);
  EXPECT_NE((r.out + r.err).find("/etc/.wh.passwd: names starting with"), std::string::npos) << r.out << r.err;
}

class LoadPathsTest : public BusyboxTest {
 protected:
  // busybox:local saved as a docker archive and unpacked into DIR/arch; returns its manifest.json.
  nlohmann::json Unpacked() {
    RunResult s = RunImgbuild("save --root " + root_ + " busybox:local -o " + dir_ + "/bb.tar --format docker");
    EXPECT_EQ(s.code, 0) << s.err;
    fs::create_directories(dir_ + "/arch");
    int code;
    std::string out = Sh("tar -xf " + dir_ + "/bb.tar -C " + dir_ + "/arch", &code);
    EXPECT_EQ(code, 0) << out;
    fs::remove(dir_ + "/arch/index.json");  // the docker half of the archive only
    return nlohmann::json::parse(Slurp(dir_ + "/arch/manifest.json"));
  }
  // Packs DIR/arch (with `manifest` as its manifest.json) and loads it into a fresh store.
  RunResult Load(const nlohmann::json& manifest) {
    std::ofstream(dir_ + "/arch/manifest.json", std::ios::trunc) << manifest.dump();
    Sh("tar -cf " + dir_ + "/evil.tar -C " + dir_ + "/arch .");
    return RunImgbuild("load --root " + dir_ + "/fresh -i " + dir_ + "/evil.tar");
  }
  // Whether the fresh store holds any blob with these bytes' content (it never should, from the host).
  bool StoreHasBlobLike(const std::string& host_file) {
    std::string hex = Sh("sha256sum " + host_file + " | cut -c1-64");
    hex.erase(hex.find_last_not_of("\n") + 1);
    return !Sh("find " + dir_ + "/fresh -name " + hex).empty();
  }
};

TEST_F(LoadPathsTest, ConfigPathEscapingWithDotDotIsRefused) {
  nlohmann::json m = Unpacked();
  // A valid config outside the archive: before the fix it was read into the store as the image's.
  fs::copy_file(dir_ + "/arch/" + m[0]["Config"].get<std::string>(), dir_ + "/host-config.json");
  m[0]["Config"] = "../../../../../../../../../../.." + dir_ + "/host-config.json";
  m[0]["RepoTags"] = {"evil:1"};
  RunResult r = Load(m);
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.err.find("host-config.json"), std::string::npos) << r.err;
  EXPECT_FALSE(StoreHasBlobLike(dir_ + "/host-config.json"));
}

TEST_F(LoadPathsTest, LayerSymlinkToAHostFileIsRefused) {
  nlohmann::json m = Unpacked();
  std::string first = m[0]["Layers"][0].get<std::string>();
  fs::copy_file(dir_ + "/arch/" + first, dir_ + "/host-layer.tar");
  fs::remove(dir_ + "/arch/" + first);
  fs::create_symlink(dir_ + "/host-layer.tar", dir_ + "/arch/" + first);  // absolute: the host's path
  m[0]["RepoTags"] = {"evil:1"};
  RunResult r = Load(m);
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_FALSE(StoreHasBlobLike(dir_ + "/host-layer.tar"));
}

TEST_F(LoadPathsTest, ManifestSymlinkToAHostFileIsRefused) {
  nlohmann::json m = Unpacked();
  m[0]["RepoTags"] = {"evil:1"};
  std::ofstream(dir_ + "/host-manifest.json") << m.dump();
  fs::remove(dir_ + "/arch/manifest.json");
  fs::create_symlink(dir_ + "/host-manifest.json", dir_ + "/arch/manifest.json");
  Sh("tar -cf " + dir_ + "/evil.tar -C " + dir_ + "/arch .");
  RunResult r = RunImgbuild("load --root " + dir_ + "/fresh -i " + dir_ + "/evil.tar");
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_EQ(RunImgbuild("images --json --root " + dir_ + "/fresh").out.find("evil"), std::string::npos);
}

// Names in an archive are checked as `-t` is (item 19): a name with a newline is refused.
TEST_F(LoadPathsTest, BadNamesInAnArchiveAreRefused) {
  nlohmann::json m = Unpacked();
  m[0]["RepoTags"] = {"evil\n\x1b[2J:1"};
  RunResult r = Load(m);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("invalid repository name"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << r.err;
  EXPECT_EQ(RunImgbuild("images --root " + dir_ + "/fresh").out.find("evil"), std::string::npos);
}

// JSON documents are bounded (item 17): a 5 MiB manifest.json is refused before it is parsed.
TEST_F(LoadPathsTest, OversizedDocumentsAreRefused) {
  nlohmann::json m = Unpacked();
  m[0]["RepoTags"] = {"big:1"};
  std::ofstream(dir_ + "/arch/manifest.json", std::ios::trunc) << m.dump() << std::string(5 << 20, ' ');
  Sh("tar -cf " + dir_ + "/evil.tar -C " + dir_ + "/arch .");
  RunResult r = RunImgbuild("load --root " + dir_ + "/fresh -i " + dir_ + "/evil.tar");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("a JSON document may have at most 4194304"), std::string::npos) << r.err;
}

TEST_F(LoadPathsTest, LayerLinkedInsideTheArchiveStillLoads) {
  nlohmann::json m = Unpacked();
  std::string first = m[0]["Layers"][0].get<std::string>();
  fs::create_directories(dir_ + "/arch/shared");
  fs::create_symlink("../" + first, dir_ + "/arch/shared/layer.tar");  // relative, stays inside
  m[0]["Layers"][0] = "shared/layer.tar";
  m[0]["RepoTags"] = {"linked:1"};
  RunResult r = Load(m);
  ASSERT_EQ(r.code, 0) << r.err;
  fs::create_directories(dir_ + "/ctx");
  RunResult run = RunImgbuild("build --root " + dir_ + "/fresh --network=none -f - " + dir_ + "/ctx",
                              "FROM linked:1\nRUN test -s /etc/passwd\n");
  EXPECT_EQ(run.code, 0) << run.err;
}

}  // namespace
}  // namespace imgbuild::testing
