// Security: a layer is what its image's config says it is (issue 12, item 6). Base layers are
// unpacked once into snapshots named by chain ID and shared by every build; a hostile image whose
// layer claims a legitimate layer's diff_id must be refused before its snapshot gets that name,
// so a later build FROM the legitimate image never runs on the hostile files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "../e2e/busybox_fixture.h"
#include "../layers/tar_maker.h"

namespace imgbuild::testing {
namespace {

namespace fs = std::filesystem;

class LayerIdentityTest : public BusyboxTest {
 protected:
  // Writes `data` as a blob of the OCI layout in DIR/oci; returns its digest.
  std::string PutBlob(const std::string& data) {
    std::ofstream(dir_ + "/blob.tmp", std::ios::binary | std::ios::trunc) << data;
    std::string hex = Sh("sha256sum " + dir_ + "/blob.tmp | cut -c1-64");
    hex.erase(hex.find_last_not_of('\n') + 1);
    fs::rename(dir_ + "/blob.tmp", dir_ + "/oci/blobs/sha256/" + hex);
    return "sha256:" + hex;
  }
  std::string Blob(const std::string& digest) { return Slurp(dir_ + "/oci/blobs/sha256/" + digest.substr(7)); }
};

// A docker archive's layers are plain tars, checked against the config by `load` itself.
TEST_F(LayerIdentityTest, DockerArchiveLayersAreCheckedOnLoad) {
  ASSERT_EQ(RunImgbuild("save --root " + root_ + " busybox:local -o " + dir_ + "/legit.tar --format docker").code, 0);
  fs::create_directories(dir_ + "/arch");
  Sh("tar -xf " + dir_ + "/legit.tar -C " + dir_ + "/arch");
  fs::remove(dir_ + "/arch/index.json");
  nlohmann::json m = nlohmann::json::parse(Slurp(dir_ + "/arch/manifest.json"));
  {
    TarMaker t(dir_ + "/arch/evil-layer.tar");
    t.Dir("bin/").File("bin/evil", "#!/bin/sh\necho pwned\n");
  }
  m[0]["Layers"][0] = "evil-layer.tar";  // the config, and its diff_id, stay the legitimate image's
  m[0]["RepoTags"] = {"evil:1"};
  std::ofstream(dir_ + "/arch/manifest.json", std::ios::trunc) << m.dump();
  Sh("tar -cf " + dir_ + "/evil.tar -C " + dir_ + "/arch .");
  RunResult r = RunImgbuild("load --root " + dir_ + "/fresh -i " + dir_ + "/evil.tar");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("does not match diff_id"), std::string::npos) << r.err;
}

// An OCI layout's layers are compressed blobs, consistent with their own digests: the lie shows
// only when the layer is unpacked, and it must show there, before the chain ID names a snapshot.
TEST_F(LayerIdentityTest, ALayerThatLiesAboutItsDiffIdNeverTakesItsChainId) {
  ASSERT_EQ(RunImgbuild("save --root " + root_ + " busybox:local -o " + dir_ + "/legit.tar --format oci").code, 0);
  fs::create_directories(dir_ + "/oci");
  Sh("tar -xf " + dir_ + "/legit.tar -C " + dir_ + "/oci");
  nlohmann::json index = nlohmann::json::parse(Slurp(dir_ + "/oci/index.json"));
  nlohmann::json manifest = nlohmann::json::parse(Blob(index["manifests"][0]["digest"]));
  {
    TarMaker t(dir_ + "/evil-layer.tar");
    t.Dir("bin/").File("bin/evil", "#!/bin/sh\necho pwned\n");
  }
  Sh("gzip -n " + dir_ + "/evil-layer.tar");
  std::string evil = Slurp(dir_ + "/evil-layer.tar.gz");
  manifest["layers"][0]["digest"] = PutBlob(evil);
  manifest["layers"][0]["size"] = evil.size();
  std::string manifest_text = manifest.dump();
  index["manifests"][0]["digest"] = PutBlob(manifest_text);
  index["manifests"][0]["size"] = manifest_text.size();
  index["manifests"][0]["annotations"] = {{"org.opencontainers.image.ref.name", "evil:1"}};
  std::ofstream(dir_ + "/oci/index.json", std::ios::trunc) << index.dump();
  Sh("tar -cf " + dir_ + "/evil.tar -C " + dir_ + "/oci .");

  const std::string fresh = dir_ + "/fresh";
  RunResult r = RunImgbuild("load --root " + fresh + " -i " + dir_ + "/evil.tar");
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(RunImgbuild("load --root " + fresh + " -i " + dir_ + "/legit.tar").code, 0);
  std::string ctx = dir_ + "/ctx";
  fs::create_directories(ctx);
  std::ofstream(ctx + "/Buildfile") << "FROM evil:1\nRUN true\n";
  r = RunImgbuild("build --progress=plain --network=none --root " + fresh + " " + ctx);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("does not match the diff_id its image claims"), std::string::npos) << r.err;
  // The legitimate image still builds on its own files.
  std::ofstream(ctx + "/Buildfile", std::ios::trunc) << "FROM busybox:local\nRUN test ! -e /bin/evil\n";
  r = RunImgbuild("build --progress=plain --network=none --root " + fresh + " " + ctx);
  EXPECT_EQ(r.code, 0) << r.err;
}

}  // namespace
}  // namespace imgbuild::testing
