// The cache index: whole records or none, unusable records dropped, siblings for explanations.
#include "cache/cache_index.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "../support/temp_dir.h"

namespace imgbuild::cache {
namespace {

namespace fs = std::filesystem;

class CacheIndexTest : public ::testing::Test {
 protected:
  void SetUp() override {
  }
  static CacheRecord Record(const std::string& seed, std::optional<CacheKey> parent = std::nullopt) {
    CacheRecord r;
    r.key = CacheKey(layers::Digest::OfBytes(seed));
    r.parent = parent;
    r.kind = "RUN";
    r.label = "RUN " + seed;
    r.created = "2026-01-01T00:00:00Z";
    r.created_by = "RUN " + seed;
    r.fields = {{"command", seed}};
    return r;
  }
  testing::TempDir tmp_{"imgbuild-index"};
  std::string dir_ = tmp_.path();
};

TEST_F(CacheIndexTest, PutFindRoundTrip) {
  CacheIndex index(dir_);
  CacheRecord r = Record("a");
  layers::Descriptor layer{"application/vnd.oci.image.layer.v1.tar", layers::Digest::OfBytes("layer"), 5, {}, {}};
  r.layer = layer;
  r.diff_id = r.layer->digest;
  r.snapshot = "c-1";
  r.empty_layer = false;
  r.files = {{"src/a.c", "0123456789abcdef"}};
  index.Put(r);
  auto got = index.Find(r.key, nullptr);
  ASSERT_TRUE(got);
  EXPECT_EQ(got->snapshot, "c-1");
  EXPECT_EQ(got->layer->digest, r.layer->digest);
  EXPECT_EQ(got->fields, r.fields);
  EXPECT_TRUE(got->files.empty());  // only explanations read them
  index.Put(Record("child", r.key));
  CacheRecord sibling = r;
  sibling.key = Record("sibling").key;
  sibling.parent = Record("parent").key;
  index.Put(sibling);
  ASSERT_EQ(index.Children(*sibling.parent).size(), 1u);
  EXPECT_EQ(index.Children(*sibling.parent)[0].files, r.files);
  EXPECT_FALSE(got->empty_layer);
  EXPECT_FALSE(index.Find(Record("other").key, nullptr));
}

TEST_F(CacheIndexTest, UnusableAndDamagedRecordsAreDropped) {
  CacheIndex index(dir_);
  CacheRecord r = Record("a");
  index.Put(r);
  EXPECT_FALSE(index.Find(r.key, [](const CacheRecord&) { return false; }));  // e.g. its snapshot is gone
  EXPECT_FALSE(index.Find(r.key, nullptr));                                    // and it stays gone
  CacheRecord torn = Record("torn");
  index.Put(torn);
  std::string path = dir_ + "/records/" + std::string(torn.key.hex()) + ".json";
  std::string text;
  {
    std::ifstream in(path);
    std::getline(in, text);
  }
  std::ofstream(path) << text.substr(0, text.size() / 2);  // a torn write (never happens: rename)
  EXPECT_FALSE(index.Find(torn.key, nullptr));
  EXPECT_FALSE(fs::exists(path));
  EXPECT_THROW(CacheKey::Parse("sha256:../../etc/passwd"), std::invalid_argument);  // never a path
}

TEST_F(CacheIndexTest, ChildrenAndAll) {
  CacheIndex index(dir_);
  CacheRecord parent = Record("p");
  index.Put(parent);
  index.Put(Record("c1", parent.key));
  index.Put(Record("c2", parent.key));
  EXPECT_EQ(index.Children(parent.key).size(), 2u);
  EXPECT_EQ(index.All().size(), 3u);
  index.Remove(Record("c1").key);
  EXPECT_EQ(index.Children(parent.key).size(), 1u);
  // Another process's index over the same directory sees the same records.
  EXPECT_EQ(CacheIndex(dir_).All().size(), 2u);
}

}  // namespace
}  // namespace imgbuild::cache
