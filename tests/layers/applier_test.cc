// The Applier: layers become snapshots in overlay format, and hostile layers are refused with
// nothing written outside the target.
#include "layers/applier.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tar_maker.h"

#include "../support/temp_dir.h"

namespace imgbuild::layers {
namespace {

namespace fs = std::filesystem;
using imgbuild::testing::TarMaker;

class ApplierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_ + "/sandbox/target");
    target_ = dir_ + "/sandbox/target";
  }

  std::string Tar(const std::function<void(TarMaker&)>& fill, bool gzip = false) {
    std::string path = dir_ + "/layer" + std::to_string(n_++) + ".tar";
    TarMaker t(path, gzip);
    fill(t);
    t.Close();
    return path;
  }
  // Nothing may appear beside the target, whatever the layer did.
  void ExpectNothingOutside() {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_ + "/sandbox")) names.push_back(e.path().filename());
    EXPECT_EQ(names, std::vector<std::string>{"target"});
  }
  std::string Refusal(const std::function<void(TarMaker&)>& fill, const ApplyOptions& o = {}) {
    try {
      ApplyLayer(Tar(fill), target_, o);
    } catch (const HostileLayerError& e) {
      ExpectNothingOutside();
      return e.what();
    }
    return "applied";
  }

  testing::TempDir tmp_{"imgbuild-apply"};
  std::string dir_ = tmp_.path();
  std::string target_;
  int n_ = 0;
};

TEST_F(ApplierTest, AppliesFilesLinksAndMetadata) {
  std::string layer = Tar([](TarMaker& t) {
    t.Dir("etc/").File("etc/hosts", "127.0.0.1 localhost\n", 0600).Symlink("etc/link", "hosts");
    t.Hardlink("etc/hard", "etc/hosts").File("deep/implicit/parent.txt", "x");
  }, /*gzip=*/true);
  ApplyStats s = ApplyLayer(layer, target_);
  EXPECT_EQ(s.entries, 5);
  struct stat st;
  ASSERT_EQ(::lstat((target_ + "/etc/hosts").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_mtime, 1000);
  EXPECT_EQ(st.st_nlink, 2u);
  EXPECT_EQ(fs::read_symlink(target_ + "/etc/link"), "hosts");
  EXPECT_TRUE(fs::exists(target_ + "/deep/implicit/parent.txt"));
}

TEST_F(ApplierTest, WhiteoutsBecomeOverlayFormat) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root for whiteout devices and trusted.* xattrs";
  ApplyLayer(Tar([](TarMaker& t) { t.Dir("d/").File("d/.wh..wh..opq", "").File(".wh.gone", ""); }), target_);
  struct stat st;
  ASSERT_EQ(::lstat((target_ + "/gone").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  char v[2] = {};
  EXPECT_EQ(::lgetxattr((target_ + "/d").c_str(), "trusted.overlay.opaque", v, 1), 1);
  EXPECT_EQ(v[0], 'y');
}

// An archive (ADD, a remote context, load's own tar) is data: `.wh.` entries are plain files and
// delete nothing already there.
TEST_F(ApplierTest, ArchivesKeepWhiteoutNamesAsFiles) {
  fs::create_directories(target_ + "/etc");
  fs::create_directories(target_ + "/bin");
  std::ofstream(target_ + "/etc/passwd") << "root:x:0:0::/root:/bin/sh\n";
  std::ofstream(target_ + "/bin/sh") << "#!\n";
  ApplyOptions data;
  data.whiteouts = false;
  data.overlay_format = false;
  ApplyLayer(Tar([](TarMaker& t) { t.Dir("etc/").File("etc/.wh.passwd", "").Dir("bin/").File("bin/.wh..wh..opq", ""); }),
             target_, data);
  EXPECT_TRUE(fs::is_regular_file(target_ + "/etc/passwd"));
  EXPECT_TRUE(fs::is_regular_file(target_ + "/bin/sh"));
  EXPECT_TRUE(fs::is_regular_file(target_ + "/etc/.wh.passwd"));
  EXPECT_TRUE(fs::is_regular_file(target_ + "/bin/.wh..wh..opq"));
  // As a layer (unpacked flat, as an export does), the same entries are deletions.
  ApplyOptions layer;
  layer.overlay_format = false;
  ApplyLayer(Tar([](TarMaker& t) { t.Dir("etc/").File("etc/.wh.passwd", ""); }), target_, layer);
  EXPECT_FALSE(fs::exists(target_ + "/etc/passwd"));
}

TEST_F(ApplierTest, RefusesHostileLayers) {
  EXPECT_NE(Refusal([](TarMaker& t) { t.File("../escape", "x"); }).find("path leaves the layer root"), std::string::npos);
  EXPECT_NE(Refusal([](TarMaker& t) { t.File("a/../../escape", "x"); }).find("path leaves the layer root"), std::string::npos);
  EXPECT_NE(Refusal([](TarMaker& t) { t.File("/etc/evil", "x"); }).find("absolute path"), std::string::npos);
  EXPECT_NE(Refusal([](TarMaker& t) { t.Symlink("up", "..").File("up/escape", "x"); }).find("through the symlink up"),
            std::string::npos);
  EXPECT_NE(Refusal([](TarMaker& t) { t.Symlink("root", "/").File("root/tmp/escape", "x"); }).find("symlink"),
            std::string::npos);
  EXPECT_NE(Refusal([](TarMaker& t) { t.Hardlink("h", "../outside"); }).find("path leaves the layer root"),
            std::string::npos);
  EXPECT_NE(Refusal([](TarMaker& t) { t.Hardlink("h", "etc/passwd"); }).find("not in this layer"), std::string::npos);
  EXPECT_NE(Refusal([](TarMaker& t) { t.File(".wh..", ""); }).find("whiteout of \".\""), std::string::npos);
  EXPECT_NE(Refusal([](TarMaker& t) { t.File("d/.wh...", ""); }).find("whiteout of \"..\""), std::string::npos);
  EXPECT_NE(Refusal([](TarMaker& t) { t.File("a", "1").File("a", "2"); }).find("duplicate entry"), std::string::npos);
  ApplyOptions no_dev;
  no_dev.allow_devices = false;
  EXPECT_NE(Refusal([](TarMaker& t) { t.Device("dev/sda", 8, 0); }, no_dev).find("device nodes need root"),
            std::string::npos);
  ApplyOptions small;
  small.max_entry_size = 4;
  EXPECT_NE(Refusal([](TarMaker& t) { t.File("big", "12345"); }, small).find("larger than the limit"), std::string::npos);
}

TEST_F(ApplierTest, CorruptArchiveIsAnError) {
  std::string path = dir_ + "/garbage.tar";
  std::ofstream(path) << std::string(1024, 'x');
  EXPECT_ANY_THROW(ApplyLayer(path, target_));
  ExpectNothingOutside();
}

}  // namespace
}  // namespace imgbuild::layers
