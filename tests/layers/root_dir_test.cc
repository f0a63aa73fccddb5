// RootDir: paths resolved inside a root whatever its symlinks say (absolute, climbing, looping),
// and TryOpenExact refusing any symlink on the way.
#include "layers/root_dir.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../support/temp_dir.h"

namespace imgbuild::layers {
namespace {

namespace fs = std::filesystem;

class RootDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(root_ + "/usr/lib");
    fs::create_directories(outside_);
    std::ofstream(outside_ + "/secret") << "host";
    std::ofstream(root_ + "/usr/lib/libc") << "inside";
    fs::create_symlink("usr/lib", root_ + "/lib");          // relative, inside
    fs::create_symlink(outside_, root_ + "/abs");           // absolute: the root's own /...
    fs::create_symlink("../../../../../../..", root_ + "/up");  // climbs: stops at the root
    fs::create_symlink("loop2", root_ + "/loop1");
    fs::create_symlink("loop1", root_ + "/loop2");
  }
  testing::TempDir tmp_{"imgbuild-rootdir"};
  std::string root_ = tmp_.path() + "/root";
  std::string outside_ = tmp_.path() + "/outside";
};

TEST_F(RootDirTest, ResolvesInsideTheRoot) {
  RootDir r(root_);
  EXPECT_EQ(r.Resolve("/lib/libc"), "usr/lib/libc");
  EXPECT_EQ(r.Resolve("lib", false), "lib");
  EXPECT_EQ(r.Resolve("/../../lib/./libc"), "usr/lib/libc");
  EXPECT_EQ(r.Resolve("abs/secret"), outside_.substr(1) + "/secret");  // a path of the root, not the host
  EXPECT_EQ(r.Resolve("up/usr"), "usr");
  EXPECT_EQ(r.Resolve("missing/../lib/x"), "usr/lib/x");
  EXPECT_EQ(r.Resolve(""), "");
  EXPECT_THROW(r.Resolve("loop1/x"), SysError);
}

TEST_F(RootDirTest, OpensNothingOutside) {
  RootDir r(root_);
  struct stat st;
  EXPECT_FALSE(r.Stat("abs/secret", &st, true));
  EXPECT_FALSE(r.Stat("up/outside/secret", &st, true));
  EXPECT_TRUE(r.Stat("lib/libc", &st, true));
  EXPECT_TRUE(r.Stat("up/usr/lib/libc", &st, true));
  EXPECT_LT(r.TryOpen("abs/secret", O_RDONLY), 0);
  EXPECT_THROW(r.Open("../outside/secret", O_RDONLY), SysError);
  RootDir::Entry e = r.Parent("lib/libc");
  EXPECT_EQ(e.name, "libc");
  EXPECT_EQ(::faccessat(e.dir.get(), "libc", F_OK, 0), 0);
  EXPECT_EQ(r.Parent("/").name, ".");
}

TEST_F(RootDirTest, ExactOpensRefuseEverySymlink) {
  RootDir r(root_);
  int fd = r.TryOpenExact("usr/lib/libc", O_RDONLY);
  EXPECT_GE(fd, 0);
  if (fd >= 0) ::close(fd);
  EXPECT_EQ(r.TryOpenExact("lib/libc", O_RDONLY), -ELOOP);
  EXPECT_LT(r.TryOpenExact("../outside/secret", O_RDONLY), 0);
}

}  // namespace
}  // namespace imgbuild::layers
