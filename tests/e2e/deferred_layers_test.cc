// Deferred layers from the user's side: a build writes no layer tar for its cached steps (their
// snapshots hold the files), every command that reads the store still gets whole images, a prune
// that removes the snapshots writes the layers the images keep, and a snapshot that changed under
// the store gives an error, never a wrong layer.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "busybox_fixture.h"

namespace imgbuild::testing {
namespace {

namespace fs = std::filesystem;

class DeferredLayersTest : public BusyboxTest {
 protected:
  std::string BlobFile(const std::string& digest) { return root_ + "/oci/blobs/sha256/" + digest.substr(7); }
  // The layer digests of the image tagged `name` in the store.
  std::vector<std::string> Layers(const std::string& name) {
    auto index = nlohmann::json::parse(Slurp(root_ + "/oci/index.json"));
    for (const auto& m : index["manifests"]) {
      if (m["annotations"].value("org.opencontainers.image.ref.name", "").find(name) == std::string::npos) continue;
      auto manifest = nlohmann::json::parse(Slurp(BlobFile(m["digest"].get<std::string>())));
      std::vector<std::string> out;
      for (const auto& l : manifest["layers"]) out.push_back(l["digest"].get<std::string>());
      return out;
    }
    return {};
  }
  RunResult BuildApp(const std::string& args = "") {
    fs::create_directories(dir_ + "/app");
    std::ofstream(dir_ + "/app/data.txt") << std::string(200000, 'd');
    return Build("app", "FROM busybox:local\nCOPY data.txt /data.txt\nRUN echo ran > /ran.txt\n", "-t app:1 " + args);
  }
  std::string SavedLayerDigests(const std::string& tar) {
    std::string out = dir_ + "/saved";
    fs::remove_all(out);
    fs::create_directories(out);
    Sh("tar -xf " + tar + " -C " + out);
    auto index = nlohmann::json::parse(Slurp(out + "/index.json"));
    saved_ref_ = index["manifests"][0]["annotations"].value("org.opencontainers.image.ref.name", "");
    auto manifest = nlohmann::json::parse(Slurp(out + "/blobs/sha256/" + index["manifests"][0]["digest"].get<std::string>().substr(7)));
    std::string digests;
    for (const auto& l : manifest["layers"]) {
      std::string d = l["digest"].get<std::string>();
      digests += d + "=" + Sh("sha256sum " + out + "/blobs/sha256/" + d.substr(7) + " | cut -c1-64") ;
    }
    return digests;
  }
  std::string saved_ref_;
};

TEST_F(DeferredLayersTest, ABuildWritesNoLayerTarAndEveryReaderStillGetsWholeImages) {
  RunResult r = BuildApp();
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<std::string> layers = Layers("app:1");
  ASSERT_GE(layers.size(), 3u);
  for (const std::string& d : {layers[layers.size() - 2], layers.back()}) {  // the COPY's and the RUN's
    EXPECT_FALSE(fs::exists(BlobFile(d))) << d << " was written by the build";
    EXPECT_TRUE(fs::exists(root_ + "/deferred/" + d.substr(7))) << d;
  }
  // Listings count deferred layers at their size.
  RunResult images = RunImgbuild("images --format '{{.Size}}' --filter reference=app:1 --root " + root_);
  ASSERT_EQ(images.code, 0) << images.err;
  EXPECT_NE(images.out.find("MB"), std::string::npos) << images.out;
  // A save makes them, exactly: each exported blob hashes to its digest, and the same image's
  // layers from a store that wrote every blob at build time (the copy snapshotter) are identical.
  RunResult save = RunImgbuild("save --compression uncompressed --root " + root_ + " app:1 -o " + dir_ + "/app.tar");
  ASSERT_EQ(save.code, 0) << save.err;
  std::string saved = SavedLayerDigests(dir_ + "/app.tar");
  for (const std::string& d : layers) {
    EXPECT_NE(saved.find(d + "=" + d.substr(7)), std::string::npos) << saved;
    EXPECT_TRUE(fs::exists(BlobFile(d))) << d << " is kept once made";
  }
  int code;
  std::string v = Sh("oci-image-tool validate --type image --ref name=" + saved_ref_ + " " + dir_ + "/saved 2>&1", &code);
  EXPECT_EQ(code, 0) << v;
}

TEST_F(DeferredLayersTest, APruneThatRemovesTheSnapshotsWritesTheLayersImagesKeep) {
  ASSERT_EQ(BuildApp().code, 0);
  std::vector<std::string> layers = Layers("app:1");
  RunResult p = RunImgbuild("prune --root " + root_);  // every cache record and its snapshot
  ASSERT_EQ(p.code, 0) << p.err;
  auto du = nlohmann::json::parse(RunImgbuild("du --json --root " + root_).out);
  EXPECT_EQ(du["snapshots"].get<int64_t>(), 0);
  for (const std::string& d : layers) EXPECT_TRUE(fs::exists(BlobFile(d))) << d;
  EXPECT_GT(du["images"].get<int64_t>(), 200000);
  // The image is whole: it exports, and a build FROM it unpacks its layers again.
  RunResult save = RunImgbuild("save --root " + root_ + " app:1 -o " + dir_ + "/app.tar");
  EXPECT_EQ(save.code, 0) << save.err;
  RunResult r = Build("next", "FROM app:1\nRUN cat /ran.txt && test $(wc -c < /data.txt) = 200000\n");
  EXPECT_EQ(r.code, 0) << r.err;
  // Removing the image then leaves no blob or recipe of its own layers behind.
  ASSERT_EQ(RunImgbuild("rm --root " + root_ + " app:1").code, 0);
  ASSERT_EQ(RunImgbuild("prune --all --root " + root_).code, 0);
  EXPECT_FALSE(fs::exists(BlobFile(layers.back())));
  EXPECT_FALSE(fs::exists(root_ + "/deferred/" + layers.back().substr(7)));
}

TEST_F(DeferredLayersTest, AFromOfAnImageBuiltHereStartsFromItsSnapshotsWithoutUnpacking) {
  ASSERT_EQ(BuildApp().code, 0);
  RunResult r = Build("next", "FROM app:1\nRUN cat /ran.txt && test $(wc -c < /data.txt) = 200000\n");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err.find("unpacking layer"), std::string::npos) << r.err;
  for (const std::string& d : Layers("app:1")) EXPECT_FALSE(fs::exists(BlobFile(d))) << d << " was written";
  EXPECT_TRUE(Sh("ls " + root_ + "/snapshots").find("chain-") == std::string::npos);
}

TEST_F(DeferredLayersTest, ASnapshotChangedUnderTheStoreGivesAnErrorNotAWrongLayer) {
  ASSERT_EQ(BuildApp().code, 0);
  std::vector<std::string> layers = Layers("app:1");
  // The COPY's snapshot, edited behind the store's back (or cut short by a crash).
  std::string hit = Sh("grep -l -r --include=data.txt -m1 d " + root_ + "/snapshots | head -1");
  ASSERT_FALSE(hit.empty());
  hit.erase(hit.find_last_not_of('\n') + 1);
  fs::resize_file(hit, 10);
  RunResult save = RunImgbuild("save --root " + root_ + " app:1 -o " + dir_ + "/app.tar");
  EXPECT_NE(save.code, 0);
  EXPECT_NE(save.err.find("could not be made from its snapshot"), std::string::npos) << save.err;
  EXPECT_FALSE(fs::exists(dir_ + "/app.tar"));
  for (const std::string& d : layers) {
    if (fs::exists(BlobFile(d))) {
      EXPECT_EQ(Sh("sha256sum " + BlobFile(d) + " | cut -c1-64"), d.substr(7) + "\n");
    }
  }
}

}  // namespace
}  // namespace imgbuild::testing
