// PendingFills: a big file left empty by the copy gets its bytes while the layer is hashed, and
// the layer is the same as if it had been copied first.
#include "layers/pending_fills.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "../support/temp_dir.h"
#include "layers/layer_writer.h"

namespace imgbuild::layers {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

class PendingFillsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::mt19937_64 rng(7);
    // Not a whole number of chunks: the last, short one is written without O_DIRECT.
    data_.resize(static_cast<size_t>(PendingFills::kMinSize) + 4 * 1024 * 1024 + 123);
    for (char& c : data_) c = static_cast<char>(rng());
    fs::create_directories(src_);
    std::ofstream(src_ + "/big", std::ios::binary) << data_;
    std::ofstream(src_ + "/small") << "small";
    // The same tree twice: copied whole, and with the big file left pending.
    for (const std::string& d : {whole_, pending_}) {
      fs::create_directories(d + "/data");
      std::ofstream(d + "/data/small") << "small";
    }
    std::ofstream(whole_ + "/data/big", std::ios::binary) << data_;
    std::ofstream(pending_ + "/data/big");  // created empty, as the copy leaves it
    fs::resize_file(pending_ + "/data/big", data_.size());
    SetTimes(whole_ + "/data/big");
    SetTimes(pending_ + "/data/big");
    for (const std::string& d : {whole_, pending_}) {
      SetTimes(d + "/data/small");
      SetTimes(d + "/data");
    }
  }

  void SetTimes(const std::string& path) {
    struct timespec t[2] = {{1000, 0}, mtime_};
    ASSERT_EQ(::utimensat(AT_FDCWD, path.c_str(), t, AT_SYMLINK_NOFOLLOW), 0) << path;
  }

  // The big file of the pending tree, left for later with its source.
  void Leave(PendingFills& fills, const std::string& rel = "data/big") {
    PendingFills::File f;
    f.src = UniqueFd(::open((src_ + "/big").c_str(), O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(f.src);
    ASSERT_EQ(::fstat(f.src.get(), &f.src_st), 0);
    ASSERT_TRUE(fills.Wants(f.src.get(), f.src_st, 0644));
    struct stat dst;
    ASSERT_EQ(::stat((pending_ + "/data/big").c_str(), &dst), 0);
    f.dst_ino = dst.st_ino;
    f.mtime = mtime_;
    f.shown = "big";
    fills.Add(rel, std::move(f));
  }

  testing::TempDir tmp_{"imgbuild-fills"};
  std::string src_ = tmp_.path() + "/src", whole_ = tmp_.path() + "/whole", pending_ = tmp_.path() + "/pending";
  std::string data_;
  struct timespec mtime_ = {1700000000, 5};
};

TEST_F(PendingFillsTest, TheLayerIsTheSameAsACopyMadeFirstAndTheFileIsWritten) {
  LayerResult expected = HashLayer(whole_, {});
  PendingFills fills;
  Leave(fills);
  EXPECT_FALSE(fills.empty());
  LayerResult got = HashLayer(std::vector<std::string>{pending_}, {}, &fills);
  EXPECT_EQ(got.diff_id, expected.diff_id);
  EXPECT_EQ(got.blob.size, expected.blob.size);
  EXPECT_TRUE(fills.empty());
  EXPECT_TRUE(Slurp(pending_ + "/data/big") == data_);
  struct stat st;
  ASSERT_EQ(::stat((pending_ + "/data/big").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, mtime_.tv_sec);  // the writes did not move the time the header holds
  EXPECT_EQ(st.st_mtim.tv_nsec, mtime_.tv_nsec);
  // Stacked on a lower change, the pending file is in the top directory.
  fs::create_directories(tmp_.path() + "/low/data");
  std::ofstream(tmp_.path() + "/low/data/other") << "below";
  EXPECT_EQ(HashLayer(std::vector<std::string>{pending_, tmp_.path() + "/low"}, {}).diff_id,
            HashLayer(std::vector<std::string>{whole_, tmp_.path() + "/low"}, {}).diff_id);
}

TEST_F(PendingFillsTest, AFileTheWalkDidNotTakeIsWrittenAfterAndHashedAgain) {
  LayerResult expected = HashLayer(whole_, {});
  PendingFills fills;
  // Named as the walk does not name it (as if its path had been spelled another way).
  Leave(fills, "data/./big");
  LayerResult got = HashLayer(std::vector<std::string>{pending_}, {}, &fills);
  EXPECT_EQ(got.diff_id, expected.diff_id);
  EXPECT_TRUE(Slurp(pending_ + "/data/big") == data_);
}

TEST_F(PendingFillsTest, ASourceThatChangedBeforeItWasReadIsAnError) {
  PendingFills fills;
  Leave(fills);
  {
    std::fstream f(src_ + "/big", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(10);
    f << "changed";
  }
  try {
    HashLayer(std::vector<std::string>{pending_}, {}, &fills);
    FAIL() << "a changed source was hashed";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("changed while it was copied"), std::string::npos) << e.what();
  }
}

TEST_F(PendingFillsTest, OnlyBigPlainFilesAreLeftForLater) {
  PendingFills fills;
  UniqueFd big(::open((src_ + "/big").c_str(), O_RDONLY | O_CLOEXEC));
  UniqueFd small(::open((src_ + "/small").c_str(), O_RDONLY | O_CLOEXEC));
  struct stat big_st, small_st;
  ASSERT_EQ(::fstat(big.get(), &big_st), 0);
  ASSERT_EQ(::fstat(small.get(), &small_st), 0);
  EXPECT_TRUE(fills.Wants(big.get(), big_st, 0644));
  EXPECT_FALSE(fills.Wants(small.get(), small_st, 0644));
  EXPECT_FALSE(fills.Wants(big.get(), big_st, 04755));  // a write would clear set-id bits
  if (::fsetxattr(big.get(), "user.note", "x", 1, 0) == 0) {
    EXPECT_FALSE(fills.Wants(big.get(), big_st, 0644));  // or security.capability
  }
  ASSERT_EQ(::link((src_ + "/big").c_str(), (src_ + "/big2").c_str()), 0);
  ASSERT_EQ(::fstat(big.get(), &big_st), 0);
  EXPECT_FALSE(fills.Wants(big.get(), big_st, 0644));  // linked: the layer may take it by another name
}

}  // namespace
}  // namespace imgbuild::layers
