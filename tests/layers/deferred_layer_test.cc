// Deferred layers: a blob kept as a recipe (the snapshot directory it is the tar of) counts as
// present, is written on first read exactly as WriteLayer writes it, and is never trusted when
// its snapshot changed or its recipe points anywhere but below the store's base.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "../support/temp_dir.h"
#include "layers/content_store.h"
#include "layers/layer_writer.h"

namespace imgbuild::layers {
namespace {

namespace fs = std::filesystem;

class DeferredLayerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(snap_ + "/app/sub");
    std::ofstream(snap_ + "/app/a.txt") << "hello";
    std::ofstream(snap_ + "/app/sub/b.txt") << std::string(100000, 'b');
  }
  ContentStore Store(bool deferring = true) {
    ContentStore cs(root_ + "/oci", root_ + "/tmp");
    if (deferring) cs.DeferLayersTo(root_ + "/deferred", root_);
    return cs;
  }
  bool BlobFile(const Digest& d) { return fs::exists(root_ + "/oci/blobs/sha256/" + std::string(d.hex())); }

  testing::TempDir tmp_{"imgbuild-deferred"};
  std::string root_ = tmp_.path();
  std::string snap_ = root_ + "/snapshots/c-1/fs";
};

TEST_F(DeferredLayerTest, HashLayerGivesWhatWriteLayerWrites) {
  LayerOptions o;
  o.source_date_epoch = 1000;
  LayerResult hashed = HashLayer(snap_, o);
  ContentStore plain = Store(false);
  LayerResult written = WriteLayer(snap_, o, plain);
  EXPECT_EQ(hashed.diff_id, written.diff_id);
  EXPECT_EQ(hashed.blob.digest, written.blob.digest);
  EXPECT_EQ(hashed.blob.size, written.blob.size);
  EXPECT_EQ(hashed.blob.media_type, media_type::kLayer);
  EXPECT_EQ(hashed.entries, written.entries);
}

TEST_F(DeferredLayerTest, ADeferredBlobIsPresentAndWrittenOnFirstRead) {
  LayerOptions o;
  o.source_date_epoch = 1000;
  LayerResult layer = HashLayer(snap_, o);
  ContentStore cs = Store();
  cs.Defer(layer.blob, {snap_}, o.source_date_epoch);
  EXPECT_TRUE(cs.Has(layer.diff_id));
  EXPECT_FALSE(BlobFile(layer.diff_id));
  EXPECT_EQ(cs.Size(layer.diff_id), layer.blob.size);
  EXPECT_EQ(cs.DiskBytes(layer.diff_id), 0);
  EXPECT_EQ(cs.DeferredSource(layer.diff_id), snap_);
  std::vector<Digest> all = cs.List();
  EXPECT_NE(std::find(all.begin(), all.end(), layer.diff_id), all.end());

  std::string path = cs.BlobPath(layer.diff_id);  // made here
  ASSERT_TRUE(BlobFile(layer.diff_id));
  EXPECT_EQ(Digest::OfBytes(ReadFile(path)), layer.diff_id);  // with the recipe's SOURCE_DATE_EPOCH
  EXPECT_EQ(cs.DiskBytes(layer.diff_id), layer.blob.size);
  EXPECT_EQ(cs.DeferredSource(layer.diff_id), std::nullopt);  // stored now

  cs.Remove(layer.diff_id);  // the recipe goes with the blob
  EXPECT_FALSE(cs.Has(layer.diff_id));
  EXPECT_TRUE(cs.List().empty());
}

TEST_F(DeferredLayerTest, ASnapshotThatChangedGivesAnErrorAndNoBlob) {
  LayerResult layer = HashLayer(snap_, {});
  ContentStore cs = Store();
  cs.Defer(layer.blob, {snap_}, std::nullopt);
  fs::resize_file(snap_ + "/app/sub/b.txt", 10);  // as a crash might have left it
  try {
    cs.BlobPath(layer.diff_id);
    FAIL() << "a changed snapshot made a blob";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("could not be made from its snapshot"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::is_empty(root_ + "/oci/blobs/sha256"));
  EXPECT_TRUE(fs::is_empty(root_ + "/tmp"));  // the partial tar is gone too
}

TEST_F(DeferredLayerTest, ARecipeWhoseSnapshotIsGoneIsNotABlob) {
  LayerResult layer = HashLayer(snap_, {});
  ContentStore cs = Store();
  cs.Defer(layer.blob, {snap_}, std::nullopt);
  fs::remove_all(snap_);
  EXPECT_FALSE(cs.Has(layer.diff_id));
  EXPECT_EQ(cs.Size(layer.diff_id), std::nullopt);
}

TEST_F(DeferredLayerTest, RecipesAreFollowedOnlyBelowTheBaseAndOnlyWhenTurnedOn) {
  LayerResult layer = HashLayer(snap_, {});
  ContentStore cs = Store();
  EXPECT_THROW(cs.Defer(layer.blob, {"/etc"}, std::nullopt), std::logic_error);
  EXPECT_THROW(cs.Defer(layer.blob, {root_ + "/../x"}, std::nullopt), std::logic_error);
  // A hand-made recipe naming a host directory, or climbing out of the base, is not followed.
  fs::create_directories(root_ + "/deferred");
  for (const std::string dir : {"/etc", "../../etc", "snapshots/../../etc", ""}) {
    std::ofstream(root_ + "/deferred/" + std::string(layer.diff_id.hex()))
        << R"({"version":1,"size":5,"dir":")" << dir << R"("})";
    EXPECT_FALSE(cs.Has(layer.diff_id)) << dir;
    EXPECT_EQ(cs.DeferredSource(layer.diff_id), std::nullopt) << dir;
  }
  std::ofstream(root_ + "/deferred/" + std::string(layer.diff_id.hex())) << "{torn";
  EXPECT_FALSE(cs.Has(layer.diff_id));
  // A layout opened without deferred layers (an archive, an export) never reads recipes.
  cs.Defer(layer.blob, {snap_}, std::nullopt);
  EXPECT_TRUE(cs.Has(layer.diff_id));
  ContentStore foreign = Store(false);
  EXPECT_FALSE(foreign.Has(layer.diff_id));
  foreign.BlobPath(layer.diff_id);
  EXPECT_FALSE(BlobFile(layer.diff_id));
}

// A stacked recipe (a COPY snapshot on its previous result): the blob is the merged tar of its
// directories, as HashLayer hashed it; an "under" entry climbing out of the base is not followed.
TEST_F(DeferredLayerTest, AStackedRecipeMakesTheMergedTar) {
  const std::string top = root_ + "/snapshots/c-2/fs";
  fs::create_directories(top + "/app");
  std::ofstream(top + "/app/a.txt") << "changed";
  LayerResult layer = HashLayer(std::vector<std::string>{top, snap_}, {});
  ContentStore cs = Store();
  cs.Defer(layer.blob, {top, snap_}, std::nullopt);
  EXPECT_EQ(cs.DeferredSource(layer.diff_id), top);
  std::string blob = cs.BlobPath(layer.diff_id);
  ContentStore plain(root_ + "/plain", root_ + "/tmp");
  EXPECT_EQ(WriteLayer(std::vector<std::string>{top, snap_}, {}, plain).blob.digest, layer.diff_id);
  EXPECT_EQ(static_cast<int64_t>(fs::file_size(blob)), layer.blob.size);
  std::ofstream(root_ + "/deferred/" + std::string(layer.diff_id.hex()))
      << R"({"version":1,"size":5,"dir":"snapshots/c-2/fs","under":["../../etc"]})";
  fs::remove(blob);
  EXPECT_EQ(cs.DeferredSource(layer.diff_id), std::nullopt);
}

}  // namespace
}  // namespace imgbuild::layers
