// WalkMerged: changes stacked as overlay stacks them, seen as one change against what is below
// the last (the layer of a COPY snapshot stacked on its previous result).
#include "layers/layer_walk.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "../support/temp_dir.h"

namespace imgbuild::layers {
namespace {

namespace fs = std::filesystem;

class LayerWalkTest : public ::testing::Test {
 protected:
  void File(const std::string& rel, const std::string& text = "x") {
    fs::create_directories(fs::path(dir_ + "/" + rel).parent_path());
    std::ofstream(dir_ + "/" + rel) << text;
  }
  bool Whiteout(const std::string& rel) {
    fs::create_directories(fs::path(dir_ + "/" + rel).parent_path());
    return ::mknod((dir_ + "/" + rel).c_str(), S_IFCHR | 0000, makedev(0, 0)) == 0;
  }
  // rel -> "dir N" / "file N" / "whiteout N" (N: the directory it comes from)
  std::vector<std::string> Merged() {
    std::vector<std::string> out;
    for (const WalkEntry& e : WalkMerged({dir_ + "/top", dir_ + "/mid", dir_ + "/low"})) {
      const char* kind = S_ISDIR(e.st.st_mode) ? "dir" : S_ISCHR(e.st.st_mode) ? "whiteout" : "file";
      out.push_back(e.rel + " " + kind + " " + std::to_string(e.dir));
    }
    return out;
  }
  testing::TempDir tmp_{"imgbuild-walk"};
  std::string dir_ = tmp_.path();
};

TEST_F(LayerWalkTest, TopMostEntryWinsAndDirectoriesMerge) {
  File("low/app/a", "low");
  File("low/app/b", "low");
  File("mid/app/b", "mid");
  File("top/app/c", "top");
  fs::create_directories(dir_ + "/mid/other");
  EXPECT_EQ(Merged(), (std::vector<std::string>{"app dir 0", "app/a file 2", "app/b file 1", "app/c file 0",
                                                "other dir 1"}));
  // One directory alone is the plain walk.
  EXPECT_EQ(WalkMerged({dir_ + "/low"}).size(), Walk(dir_ + "/low").size());
}

TEST_F(LayerWalkTest, WhiteoutsHideWhatIsBelowAndStayOnlyForWhatIsUnder) {
  if (::geteuid() != 0) GTEST_SKIP() << "whiteouts are character devices: mknod needs root";
  File("low/app/gone");
  File("low/dir/inner");
  fs::create_directories(dir_ + "/mid/app");
  ASSERT_TRUE(Whiteout("top/app/gone"));
  ASSERT_TRUE(Whiteout("top/dir"));             // hides a whole directory below
  ASSERT_TRUE(Whiteout("top/app/from-under"));  // nothing below has it: deletes the base's
  EXPECT_EQ(Merged(), (std::vector<std::string>{"app dir 0", "app/from-under whiteout 0"}));
}

TEST_F(LayerWalkTest, AFileOrAnOpaqueDirectoryHidesTheStackBelow) {
  File("low/d/inner");
  File("low/e/inner");
  File("mid/d", "now a file");
  File("top/e/mine");
  if (::setxattr((dir_ + "/top/e").c_str(), "trusted.overlay.opaque", "y", 1, 0) != 0) {
    GTEST_SKIP() << "trusted xattrs need root";
  }
  EXPECT_EQ(Merged(), (std::vector<std::string>{"d file 1", "e dir 0", "e/mine file 0"}));
}

}  // namespace
}  // namespace imgbuild::layers
