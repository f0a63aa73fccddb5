// Hash marks: a layer stacked on a marked one is hashed from the last mark before its first
// change, and its diff_id is the one a hash from the start gives.
#include "layers/layer_marks.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "../support/temp_dir.h"
#include "layers/layer_writer.h"

namespace imgbuild::layers {
namespace {

namespace fs = std::filesystem;

class LayerMarksTest : public ::testing::Test {
 protected:
  // `low`: 40 directories of 40 files of 4 KiB (about 7 MiB of tar: a mark every 4 MiB), hard
  // links between two of them.
  void SetUp() override {
    std::mt19937 rng(3);
    for (int d = 0; d < 40; ++d) {
      for (int f = 0; f < 40; ++f) {
        std::string data(4096, '\0');
        for (char& c : data) c = static_cast<char>(rng());
        File(low_, "app/d" + Num(d) + "/f" + Num(f), data);
      }
    }
    fs::create_hard_link(low_ + "/app/d01/f01", low_ + "/app/d38/link");
    fs::create_directories(top_);
  }
  static std::string Num(int n) { return (n < 10 ? "0" : "") + std::to_string(n); }
  static void File(const std::string& root, const std::string& rel, const std::string& data) {
    fs::create_directories(fs::path(root + "/" + rel).parent_path());
    std::ofstream(root + "/" + rel, std::ios::binary) << data;
    struct timespec t[2] = {{1000, 0}, {1700000000, 0}};
    ::utimensat(AT_FDCWD, (root + "/" + rel).c_str(), t, AT_SYMLINK_NOFOLLOW);
  }
  // Sets every directory's times alike in both trees (a copied-up directory keeps its times).
  void SameDirTimes() {
    for (const std::string& root : {low_, top_}) {
      for (const auto& e : fs::recursive_directory_iterator(root)) {
        if (!e.is_directory()) continue;
        struct timespec t[2] = {{1000, 0}, {1600000000, 0}};
        ::utimensat(AT_FDCWD, e.path().c_str(), t, 0);
      }
    }
  }
  // The low layer's marks, as a previous build left them.
  LayerMarks MarkLow() {
    HashMarks m;
    LayerResult plain = HashLayer(std::vector<std::string>{low_}, {});
    LayerResult marked = HashLayer(std::vector<std::string>{low_}, {}, nullptr, &m);
    EXPECT_EQ(marked.diff_id, plain.diff_id);  // marks do not change the stream
    EXPECT_EQ(marked.blob.size, plain.blob.size);
    EXPECT_GE(m.recorded.marks.size(), 1u);
    std::optional<LayerMarks> back = LayerMarks::Parse(m.recorded.Serialize());
    EXPECT_TRUE(back);
    return back ? *back : LayerMarks{};
  }
  testing::TempDir tmp_{"imgbuild-marks"};
  std::string low_ = tmp_.path() + "/low", top_ = tmp_.path() + "/top";
};

TEST_F(LayerMarksTest, AChangeNearTheEndIsHashedFromTheLastMarkAndGivesTheSameDiffId) {
  File(top_, "app/d39/f39", "changed");
  SameDirTimes();
  LayerMarks low = MarkLow();
  const std::vector<std::string> dirs{top_, low_};
  HashMarks m;
  m.previous = &low;
  LayerResult resumed = HashLayer(dirs, {}, nullptr, &m);
  EXPECT_GT(m.resumed_at, 0);
  LayerResult whole = HashLayer(dirs, {});
  EXPECT_EQ(resumed.diff_id, whole.diff_id);
  EXPECT_EQ(resumed.blob.size, whole.blob.size);
  EXPECT_EQ(resumed.entries, whole.entries);
  // Its own marks serve the next layer stacked on it.
  ASSERT_FALSE(m.recorded.marks.empty());
  fs::create_directories(tmp_.path() + "/top2");
  File(tmp_.path() + "/top2", "app/d39/f38", "changed too");
  HashMarks m2;
  m2.previous = &m.recorded;
  const std::vector<std::string> dirs2{tmp_.path() + "/top2", top_, low_};
  struct timespec t[2] = {{1000, 0}, {1600000000, 0}};
  for (const char* d : {"/top2/app", "/top2/app/d39"}) ::utimensat(AT_FDCWD, (tmp_.path() + d).c_str(), t, 0);
  EXPECT_EQ(HashLayer(dirs2, {}, nullptr, &m2).diff_id, HashLayer(dirs2, {}).diff_id);
  EXPECT_GT(m2.resumed_at, 0);
}

TEST_F(LayerMarksTest, AChangeBeforeTheFirstMarkOrADifferentEpochHashesFromTheStart) {
  File(top_, "app/d00/f00", "changed");
  SameDirTimes();
  LayerMarks low = MarkLow();
  HashMarks m;
  m.previous = &low;
  const std::vector<std::string> dirs{top_, low_};
  EXPECT_EQ(HashLayer(dirs, {}, nullptr, &m).diff_id, HashLayer(dirs, {}).diff_id);
  EXPECT_EQ(m.resumed_at, 0);
  LayerOptions epoch;
  epoch.source_date_epoch = 1650000000;
  HashMarks e;
  e.previous = &low;
  EXPECT_EQ(HashLayer(dirs, epoch, nullptr, &e).diff_id, HashLayer(dirs, epoch).diff_id);
  EXPECT_EQ(e.resumed_at, 0);
}

TEST_F(LayerMarksTest, MarksThatDoNotFitAreNotUsed) {
  File(top_, "app/d39/f39", "changed");
  SameDirTimes();
  LayerMarks low = MarkLow();
  const std::vector<std::string> dirs{top_, low_};
  const Digest whole = HashLayer(dirs, {}).diff_id;
  LayerMarks renamed = low;  // another walk: the mark's entry is not the one named
  for (LayerMark& mark : renamed.marks) mark.rel += "x";
  LayerMarks torn = low;  // a state that is not a saved one
  for (LayerMark& mark : torn.marks) mark.state[mark.state.size() - 8] ^= 1;
  LayerMarks beyond = low;  // more entries than the walk has
  for (LayerMark& mark : beyond.marks) mark.entry += 1000000;
  for (const LayerMarks* bad : {&renamed, &torn, &beyond}) {
    HashMarks m;
    m.previous = bad;
    EXPECT_EQ(HashLayer(dirs, {}, nullptr, &m).diff_id, whole);
    EXPECT_EQ(m.resumed_at, 0);
  }
  EXPECT_FALSE(LayerMarks::Parse("{\"v\":1}"));
  EXPECT_FALSE(LayerMarks::Parse("not json"));
}

}  // namespace
}  // namespace imgbuild::layers
