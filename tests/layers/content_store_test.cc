#include "layers/content_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <thread>

#include "../support/temp_dir.h"

namespace imgbuild::layers {
namespace {

namespace fs = std::filesystem;

class ContentStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
  }
  testing::TempDir tmp_{"imgbuild-cs"};
  std::string root_ = tmp_.path();
};

TEST_F(ContentStoreTest, PutAndRead) {
  ContentStore cs(root_ + "/oci", root_ + "/tmp");
  Descriptor d = cs.Put("application/json", "{}");
  EXPECT_EQ(d.digest, Digest::OfBytes("{}"));
  EXPECT_EQ(d.size, 2);
  EXPECT_TRUE(cs.Has(d.digest));
  EXPECT_EQ(cs.ReadBlob(d.digest), "{}");
  struct stat st;
  ASSERT_EQ(::stat(cs.BlobPath(d.digest).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0444u);  // blobs are read-only
  EXPECT_TRUE(fs::is_empty(root_ + "/tmp"));
}

TEST_F(ContentStoreTest, MismatchLeavesNothing) {
  ContentStore cs(root_ + "/oci", root_ + "/tmp");
  {
    ContentStore::Writer w = cs.Ingest();
    w.Write("abc");
    EXPECT_THROW(w.Commit("x", Digest::OfBytes("abd")), std::runtime_error);
  }
  EXPECT_FALSE(cs.Has(Digest::OfBytes("abc")));
  EXPECT_TRUE(fs::is_empty(root_ + "/tmp"));
  {
    ContentStore::Writer w = cs.Ingest();
    w.Write("abc");
    EXPECT_THROW(w.Commit("x", std::nullopt, 4), std::runtime_error);
  }
  EXPECT_TRUE(fs::is_empty(root_ + "/tmp"));
}

TEST_F(ContentStoreTest, AbandonedWriterCleansUp) {
  ContentStore cs(root_ + "/oci", root_ + "/tmp");
  {
    ContentStore::Writer w = cs.Ingest();
    w.Write("partial");
  }
  EXPECT_TRUE(fs::is_empty(root_ + "/tmp"));
  EXPECT_TRUE(fs::is_empty(root_ + "/oci/blobs/sha256"));
}

TEST_F(ContentStoreTest, ConcurrentWritersOfTheSameBlob) {
  ContentStore cs(root_ + "/oci", root_ + "/tmp");
  std::string data(1 << 20, 'x');
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      ContentStore::Writer w = cs.Ingest();
      for (int k = 0; k < 4; ++k) w.Write(std::string_view(data).substr(k * (1 << 18), 1 << 18));
      w.Commit("x", Digest::OfBytes(data));
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(cs.ReadBlob(Digest::OfBytes(data)), data);
  EXPECT_TRUE(fs::is_empty(root_ + "/tmp"));
}

}  // namespace
}  // namespace imgbuild::layers
