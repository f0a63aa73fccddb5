// A COPY of big files from the build context, from the user's side: the bytes of a big file are
// copied while its layer is hashed (layers/pending_fills.h), and nothing shows it: the image is
// the one the copy snapshotter (which copies everything first) gives, byte for byte, the next
// step reads the whole file, and a rebuild after the big file changed (stacked on the previous
// result) is the image from scratch again.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "busybox_fixture.h"

namespace imgbuild::testing {
namespace {

namespace fs = std::filesystem;

class BigFileCopyTest : public BusyboxTest {
 protected:
  void SetUp() override {
    BusyboxTest::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    ctx_ = dir_ + "/ctx";
    fs::create_directories(ctx_ + "/sub");
    Random(ctx_ + "/big.bin", (24 << 20) + 777, 1);
    Random(ctx_ + "/sub/second.bin", 17 << 20, 2);
    std::ofstream(ctx_ + "/sub/small.txt") << "small";
    std::ofstream(ctx_ + "/Buildfile") << "FROM busybox:local\n"
                                          "COPY big.bin /data/big.bin\n"
                                          "COPY --chmod=600 sub /data/sub/\n"
                                          "RUN sha256sum /data/big.bin /data/sub/second.bin > /sums\n";
    Sh("touch -d '2026-01-01 00:00:00' $(find " + ctx_ + " -type f) && sleep 0.05");
  }
  static void Random(const std::string& path, size_t size, unsigned seed) {
    std::mt19937_64 rng(seed);
    std::string data(size, '\0');
    for (char& c : data) c = static_cast<char>(rng());
    std::ofstream(path, std::ios::binary) << data;
  }
  RunResult BuildIn(const std::string& root, const std::string& args, const std::string& env = "") {
    return RunImgbuild("build --progress=plain --network=none --root " + root + " " + args + " " + ctx_, "",
                       "SOURCE_DATE_EPOCH=1700000000 " + env);
  }
  // The image of the context as it is now, built with the copy snapshotter in a fresh state dir.
  std::vector<std::string> CopiedFirst() {
    std::string fresh = dir_ + "/fresh-" + std::to_string(++fresh_n_);
    const std::string env = "IMGBUILD_SNAPSHOTTER=copy";
    RunResult bb = RunImgbuild("build --root " + fresh + " -t busybox:local " + dir_ + "/busybox", "", env);
    EXPECT_EQ(bb.code, 0) << bb.err;
    RunResult r = BuildIn(fresh, "-t copied:1", env);
    EXPECT_EQ(r.code, 0) << r.err;
    return DiffIds(fresh, "copied:1");
  }
  // The sums the RUN step wrote, as the image holds them.
  std::string Sums(const std::string& image) {
    RunResult r = Build("sums-" + std::to_string(++fresh_n_), "FROM " + image + "\nRUN cat /sums && sha256sum -c /sums\n");
    EXPECT_EQ(r.code, 0) << r.err;
    return r.err;
  }
  std::string ctx_;
  int fresh_n_ = 0;
};

TEST_F(BigFileCopyTest, TheImageIsTheSameAsWhenEveryByteIsCopiedFirst) {
  RunResult r = BuildIn(root_, "-t big:1");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(DiffIds(root_, "big:1"), CopiedFirst());
  std::string host = Sh("cd " + ctx_ + " && sha256sum big.bin sub/second.bin | cut -d' ' -f1");
  std::string sums = Sums("big:1");
  std::istringstream want(host);
  for (std::string sum; std::getline(want, sum);) EXPECT_NE(sums.find(sum), std::string::npos) << sums;
  // The snapshot on disk holds the bytes (not just the layer): a saved image has them too.
  RunResult save = RunImgbuild("save --compression uncompressed --root " + root_ + " big:1 -o " + dir_ + "/big.tar");
  ASSERT_EQ(save.code, 0) << save.err;
  std::string listed = Sh("mkdir -p " + dir_ + "/saved && tar -xf " + dir_ + "/big.tar -C " + dir_ + "/saved && "
                          "for b in " + dir_ + "/saved/blobs/sha256/*; do tar -tvf $b 2>/dev/null; done | grep -c '\\.bin$'");
  EXPECT_EQ(listed, "2\n");
}

TEST_F(BigFileCopyTest, ARebuildAfterTheBigFileChangedIsTheImageFromScratch) {
  ASSERT_EQ(BuildIn(root_, "-t big:1").code, 0);
  Random(ctx_ + "/big.bin", (24 << 20) + 5, 3);
  Sh("touch -d '2026-01-02 00:00:00' " + ctx_ + "/big.bin && sleep 0.05");
  RunResult r = BuildIn(root_, "-t big:2");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(DiffIds(root_, "big:2"), CopiedFirst());
  std::string sum = Sh("sha256sum " + ctx_ + "/big.bin | cut -d' ' -f1");
  EXPECT_NE(Sums("big:2").find(sum.substr(0, 64)), std::string::npos);
  // One file changed in sub/ (a stacked rebuild of that step): still the image from scratch.
  Random(ctx_ + "/sub/second.bin", 17 << 20, 4);
  Sh("touch -d '2026-01-03 00:00:00' " + ctx_ + "/sub/second.bin && sleep 0.05");
  r = BuildIn(root_, "-t big:3");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find(", 1 changed"), std::string::npos) << r.err;
  EXPECT_EQ(DiffIds(root_, "big:3"), CopiedFirst());
  Sums("big:3");
}

}  // namespace
}  // namespace imgbuild::testing
