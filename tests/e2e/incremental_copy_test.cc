// Incremental COPY from the user's side: a rebuild after a few files changed copies only those
// (the rest is linked from the previous result of the step), and its image is the one a build
// from scratch gives, byte for byte; the previous image is untouched; deleted and newly ignored
// files are removed from the new result; --no-cache copies everything.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "busybox_fixture.h"

namespace imgbuild::testing {
namespace {

namespace fs = std::filesystem;

class IncrementalCopyTest : public BusyboxTest {
 protected:
  void SetUp() override {
    BusyboxTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    ctx_ = dir_ + "/ctx";
    for (int d = 0; d < 5; ++d) {
      fs::create_directories(ctx_ + "/d" + std::to_string(d));
      for (int f = 0; f < 40; ++f) {
        std::ofstream(ctx_ + "/d" + std::to_string(d) + "/f" + std::to_string(f)) << "file " << d << " " << f;
      }
    }
    std::ofstream(ctx_ + "/Buildfile") << "FROM busybox:local\nCOPY . /app/\nRUN find /app -type f | wc -l > /count\n";
    // Old enough for their stat data to be trusted (as a checkout a moment ago would be).
    Sh("touch -d '2026-01-01 00:00:00' $(find " + ctx_ + " -type f) && sleep 0.05");
  }
  RunResult BuildIn(const std::string& root, const std::string& args = "") {
    return RunImgbuild("build --progress=plain --network=none --root " + root + " " + args + " " + ctx_, "",
                       "SOURCE_DATE_EPOCH=1700000000");
  }
  // Builds the context as it is now in a fresh state dir: what the image must be.
  std::vector<std::string> FromScratch() {
    std::string fresh = dir_ + "/fresh-" + std::to_string(++fresh_n_);
    RunResult bb = RunImgbuild("build --root " + fresh + " -t busybox:local " + dir_ + "/busybox");  // as the fixture
    EXPECT_EQ(bb.code, 0) << bb.err;
    RunResult r = BuildIn(fresh, "-t scratch:1");
    EXPECT_EQ(r.code, 0) << r.err;
    return DiffIds(fresh, "scratch:1");
  }
  std::string ctx_;
  int fresh_n_ = 0;
};

TEST_F(IncrementalCopyTest, OneChangedFileIsCopiedAloneAndTheImageIsTheSameAsFromScratch) {
  auto snapshot_bytes = [&] {
    return nlohmann::json::parse(RunImgbuild("du --json --root " + root_).out)["snapshots"].get<int64_t>();
  };
  const int64_t base = snapshot_bytes();
  ASSERT_EQ(BuildIn(root_, "-t app:1").code, 0);
  std::vector<std::string> first = DiffIds(root_, "app:1");
  const int64_t one = snapshot_bytes();
  std::ofstream(ctx_ + "/d3/f7") << "changed, and longer than before";
  Sh("touch -d '2026-01-02 00:00:00' " + ctx_ + "/d3/f7 && sleep 0.05");
  RunResult r = BuildIn(root_, "-t app:2");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("201 files, "), std::string::npos) << r.err;  // 200 + the Buildfile
  EXPECT_NE(r.err.find(", 1 changed"), std::string::npos) << r.err;
  std::vector<std::string> second = DiffIds(root_, "app:2");
  ASSERT_EQ(second.size(), first.size());
  EXPECT_NE(second[second.size() - 2], first[first.size() - 2]);
  EXPECT_EQ(second, FromScratch());
  // The two COPY snapshots share the 199 unchanged files, and du counts them once.
  EXPECT_LT(snapshot_bytes() - one, (one - base) / 4) << base << " " << one;
  // The first image's snapshot shares the unchanged files: it still gives exactly its layers.
  RunResult save = RunImgbuild("save --compression uncompressed --root " + root_ + " app:1 -o " + dir_ + "/app1.tar");
  EXPECT_EQ(save.code, 0) << save.err;
  RunResult run = Build("check", "FROM app:2\nRUN grep -q longer /app/d3/f7 && test \"$(cat /app/d3/f6)\" = 'file 3 6'\n");
  EXPECT_EQ(run.code, 0) << run.err;
}

// Rebuilds after one changed file write only that file: the step's snapshot is stacked on its
// previous result (its own directory holds the one file), up to 8 deep, then flattened by
// linking; every image is the one a build from scratch gives, and a FROM of one runs on it.
TEST_F(IncrementalCopyTest, RebuildsStackOnlyTheChangeAndStayTheSameAsFromScratch) {
  ASSERT_EQ(BuildIn(root_, "-t app:1").code, 0);
  auto stacked_files = [&] {  // regular files in each stacked snapshot's own directory
    return Sh("for m in $(grep -l '\"stacked\":true' " + root_ + "/snapshots/*/meta.json); do "
              "find $(dirname $m)/fs -type f | wc -l; done | sort | tr '\\n' ' '");
  };
  for (int i = 1; i <= 9; ++i) {
    const std::string file = ctx_ + "/d" + std::to_string(i % 5) + "/f" + std::to_string(i);
    std::ofstream(file) << "change " << i;
    Sh("touch -d '2026-02-0" + std::to_string(i) + " 00:00:00' " + file + " && sleep 0.05");
    RunResult r = BuildIn(root_, "-t app:" + std::to_string(i + 1));
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.err.find(", 1 changed"), std::string::npos) << r.err;
    if (i == 1 || i >= 7) EXPECT_EQ(DiffIds(root_, "app:" + std::to_string(i + 1)), FromScratch()) << i;
    if (i == 1) {
      EXPECT_EQ(stacked_files(), "1 ") << "the first rebuild's snapshot holds the changed file alone";
    }
  }
  // Changes 1-7 stacked (8 deep with the first result), the 8th flattened by links, the 9th on it.
  EXPECT_EQ(stacked_files(), "1 1 1 1 1 1 1 1 ");
  RunResult run = Build("check", "FROM app:10\nRUN test \"$(cat /app/d0/f5)\" = 'change 5' && "
                                 "test \"$(cat /app/d1/f1)\" = 'change 1' && test \"$(cat /app/d4/f9)\" = 'change 9'\n");
  EXPECT_EQ(run.code, 0) << run.err;
  EXPECT_EQ(run.err.find("unpacking layer"), std::string::npos) << run.err;  // built on its snapshots
  RunResult save = RunImgbuild("save --compression uncompressed --root " + root_ + " app:8 -o " + dir_ + "/app8.tar");
  EXPECT_EQ(save.code, 0) << save.err;
  RunResult prune = RunImgbuild("prune --root " + root_);
  EXPECT_EQ(prune.code, 0) << prune.err;
  EXPECT_EQ(DiffIds(root_, "app:10"), FromScratch());
  RunResult after = Build("check2", "FROM app:10\nRUN test \"$(cat /app/d3/f3)\" = 'change 3'\n");
  EXPECT_EQ(after.code, 0) << after.err;
}

TEST_F(IncrementalCopyTest, AddedDeletedAndNewlyIgnoredFilesGiveTheImageFromScratch) {
  ASSERT_EQ(BuildIn(root_, "-t app:1").code, 0);
  std::ofstream(ctx_ + "/d0/new") << "new";
  Sh("touch -d '2026-01-02 00:00:00' " + ctx_ + "/d0/new " + ctx_ + "/d0 && sleep 0.05");
  RunResult added = BuildIn(root_, "-t app:2");
  ASSERT_EQ(added.code, 0) << added.err;
  EXPECT_NE(added.err.find(", 1 changed"), std::string::npos) << added.err;
  EXPECT_EQ(DiffIds(root_, "app:2"), FromScratch());

  fs::remove(ctx_ + "/d1/f0");
  fs::remove_all(ctx_ + "/d4");  // and a whole directory
  Sh("touch -d '2026-01-03 00:00:00' " + ctx_ + "/d1 && sleep 0.05");
  RunResult deleted = BuildIn(root_, "-t app:3");
  ASSERT_EQ(deleted.code, 0) << deleted.err;
  EXPECT_NE(deleted.err.find(", 0 changed"), std::string::npos) << deleted.err;  // incremental, not from scratch
  EXPECT_EQ(DiffIds(root_, "app:3"), FromScratch());

  std::ofstream(ctx_ + "/.dockerignore") << "d2/f1\n";
  Sh("touch -d '2026-01-04 00:00:00' " + ctx_ + "/.dockerignore " + ctx_ + " && sleep 0.05");
  RunResult ignored = BuildIn(root_, "-t app:4");
  ASSERT_EQ(ignored.code, 0) << ignored.err;
  EXPECT_NE(ignored.err.find(" changed"), std::string::npos) << ignored.err;
  EXPECT_EQ(DiffIds(root_, "app:4"), FromScratch());
  RunResult run = Build("check", "FROM app:4\nRUN test ! -e /app/d2/f1 && test ! -e /app/d1/f0 && test ! -e /app/d4 && test -e /app/d0/new\n");
  EXPECT_EQ(run.code, 0) << run.err;
}

TEST_F(IncrementalCopyTest, ADirectoryThatBecameAFileOrASymlinkIsCopiedFromScratch) {
  ASSERT_EQ(BuildIn(root_, "-t app:1").code, 0);
  fs::remove_all(ctx_ + "/d2");
  std::ofstream(ctx_ + "/d2") << "now a file";
  fs::remove_all(ctx_ + "/d3");
  fs::create_symlink("d0", ctx_ + "/d3");
  Sh("touch -h -d '2026-01-02 00:00:00' " + ctx_ + "/d2 " + ctx_ + "/d3 " + ctx_ + " && sleep 0.05");
  RunResult r = BuildIn(root_, "-t app:2");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(DiffIds(root_, "app:2"), FromScratch());
}

// Files the previous result held as plain files that are now hard links, a symlink or a FIFO:
// the copier writes them anew, and they stay (CI once lost a pair that had become hard links).
TEST_F(IncrementalCopyTest, FilesThatBecameLinksSymlinksOrFifosAreWrittenAndKept) {
  ASSERT_EQ(BuildIn(root_, "-t app:1").code, 0);
  fs::remove(ctx_ + "/d0/f1");
  fs::create_hard_link(ctx_ + "/d0/f0", ctx_ + "/d0/f1");
  fs::remove(ctx_ + "/d1/f2");
  fs::create_symlink("f3", ctx_ + "/d1/f2");
  fs::remove(ctx_ + "/d2/f4");
  Sh("mkfifo " + ctx_ + "/d2/f4 && touch -h -d '2026-01-02 00:00:00' " + ctx_ + "/d0 " + ctx_ + "/d1 " + ctx_ +
     "/d2 " + ctx_ + "/d1/f2 && sleep 0.05");
  RunResult r = BuildIn(root_, "-t app:2");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find(" changed"), std::string::npos) << r.err;  // incremental
  EXPECT_EQ(DiffIds(root_, "app:2"), FromScratch());
  RunResult run = Build("check",
                        "FROM app:2\nRUN test \"$(stat -c %i /app/d0/f0)\" = \"$(stat -c %i /app/d0/f1)\" && "
                        "test -L /app/d1/f2 && test -p /app/d2/f4\n");
  EXPECT_EQ(run.code, 0) << run.err;
}

// Two sources of one COPY that give the same destination: the last one's file is the result,
// also when the first one is new or changed (its new copy must not be taken for the unchanged
// second's file, which the previous result held there).
TEST_F(IncrementalCopyTest, ALaterSourceOfTheSameDestinationStillWinsWhenAnEarlierOneChanged) {
  std::ofstream(ctx_ + "/Buildfile") << "FROM busybox:local\nCOPY d0 d1 /app/\n";
  fs::remove(ctx_ + "/d0/f5");
  Sh("touch -d '2026-01-01 00:00:00' " + ctx_ + "/Buildfile " + ctx_ + "/d0 && sleep 0.05");
  ASSERT_EQ(BuildIn(root_, "-t app:1").code, 0);
  for (int i = 1; i <= 2; ++i) {  // added (stacked on the previous result), then changed
    std::ofstream(ctx_ + "/d0/f5") << "changed " << i;
    Sh("touch -d '2026-01-0" + std::to_string(i + 1) + " 00:00:00' " + ctx_ + "/d0/f5 " + ctx_ + "/d0 && sleep 0.05");
    RunResult r = BuildIn(root_, "-t app:" + std::to_string(i + 1));
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.err.find(" changed"), std::string::npos) << r.err;  // incremental
    EXPECT_EQ(DiffIds(root_, "app:" + std::to_string(i + 1)), FromScratch()) << i;
    RunResult run = Build("check" + std::to_string(i),
                          "FROM app:" + std::to_string(i + 1) + "\nRUN test \"$(cat /app/f5)\" = 'file 1 5'\n");
    EXPECT_EQ(run.code, 0) << run.err;
  }
}

// A context of over 4 MiB leaves hash marks beside its COPY snapshot (layers/layer_marks.h): a
// stacked rebuild's layer is hashed from the last mark before its change. Its image is still
// the one from scratch, rebuild after rebuild, with changes at the end and in the middle.
TEST_F(IncrementalCopyTest, HashMarksGiveTheImageFromScratch) {
  fs::create_directories(ctx_ + "/d5");
  std::string data(256 << 10, 'x');
  for (int f = 0; f < 40; ++f) {
    for (size_t i = 0; i < data.size(); i += 64) data[i] = static_cast<char>('a' + (f + i / 64) % 26);
    std::ofstream(ctx_ + "/d5/big" + std::to_string(10 + f), std::ios::binary) << data;
  }
  Sh("touch -d '2026-01-01 00:00:00' $(find " + ctx_ + ") && sleep 0.05");
  ASSERT_EQ(BuildIn(root_, "-t app:1").code, 0);
  EXPECT_NE(Sh("ls " + root_ + "/snapshots/*/layer-marks | wc -l"), "0\n");
  const std::vector<std::string> changes{"d5/big49", "d5/big48", "d2/f3", "d5/big49"};
  for (size_t i = 0; i < changes.size(); ++i) {
    std::ofstream(ctx_ + "/" + changes[i]) << "change " << i;
    Sh("touch -d '2026-02-0" + std::to_string(i + 1) + " 00:00:00' " + ctx_ + "/" + changes[i] + " && sleep 0.05");
    RunResult r = BuildIn(root_, "-t app:" + std::to_string(i + 2));
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.err.find(", 1 changed"), std::string::npos) << r.err;
    EXPECT_EQ(DiffIds(root_, "app:" + std::to_string(i + 2)), FromScratch()) << changes[i];
  }
  RunResult save = RunImgbuild("save --compression uncompressed --root " + root_ + " app:5 -o " + dir_ + "/app5.tar");
  EXPECT_EQ(save.code, 0) << save.err;  // the deferred layer, written from its snapshots, is its diff_id
}

// The cache's size bound prunes after a build; the manifests of the COPY snapshots it keeps
// stay, so the next rebuild still copies only what changed (it once wiped them all).
TEST_F(IncrementalCopyTest, ASizeBoundPruneKeepsIncrementalCopy) {
  ASSERT_EQ(BuildIn(root_, "-t app:1").code, 0);
  RunResult other = Build("other", "FROM busybox:local\nRUN head -c 3000000 /dev/urandom > /big\n");
  ASSERT_EQ(other.code, 0) << other.err;
  for (int i = 1; i <= 2; ++i) {
    std::ofstream(ctx_ + "/d1/f" + std::to_string(i)) << "change " << i;
    Sh("touch -d '2026-02-0" + std::to_string(i) + " 00:00:00' " + ctx_ + "/d1/f" + std::to_string(i) + " && sleep 0.05");
    RunResult r = BuildIn(root_, "--cache-limit 2MB -t app:" + std::to_string(i + 1));
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.err.find(", 1 changed"), std::string::npos) << i << r.err;
    if (i == 1) EXPECT_NE(r.err.find("build cache over its bound"), std::string::npos) << r.err;
    EXPECT_EQ(DiffIds(root_, "app:" + std::to_string(i + 1)), FromScratch()) << i;
  }
}

TEST_F(IncrementalCopyTest, NoCacheCopiesEverything) {
  ASSERT_EQ(BuildIn(root_, "-t app:1").code, 0);
  std::ofstream(ctx_ + "/d3/f7") << "changed";
  Sh("touch -d '2026-01-02 00:00:00' " + ctx_ + "/d3/f7 && sleep 0.05");
  RunResult r = BuildIn(root_, "--no-cache -t app:2");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err.find(" changed"), std::string::npos) << r.err;
  EXPECT_EQ(DiffIds(root_, "app:2"), FromScratch());
}

}  // namespace
}  // namespace imgbuild::testing
