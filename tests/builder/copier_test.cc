// The copier's COPY rules on plain directories (no mounts): wildcards, directory contents,
// destinations with and without a trailing slash, several sources, --parents, --exclude,
// .dockerignore, heredocs, --chmod, symlinks, and the errors users see.
#include "builder/rootfs/copier.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "../support/temp_dir.h"

namespace imgbuild::builder {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

class CopierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.Write("src/a.txt", "a");
    dir_.Write("src/b.txt", "b");
    dir_.Write("src/c.md", "c");
    dir_.Write("src/sub/deep/d.txt", "d");
    fs::create_directories(dir_ / "root");
  }
  CopyRequest Req(std::vector<std::string> sources, const std::string& dest) {
    CopyRequest r;
    r.src_root = dir_ / "src";
    r.sources = std::move(sources);
    r.dest = dest;
    r.lower_root = dir_ / "root";
    r.upper = dir_ / "root";
    return r;
  }
  std::set<std::string> Tree() {
    std::set<std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir_ / "root")) {
      out.insert(fs::relative(e.path(), dir_ / "root").string() + (e.is_directory() ? "/" : ""));
    }
    return out;
  }
  TempDir dir_{"imgbuild-copier"};
};

TEST_F(CopierTest, WildcardsAndTrailingSlash) {
  Copy(Req({"*.txt"}, "/out/"));
  EXPECT_EQ(Tree(), (std::set<std::string>{"out/", "out/a.txt", "out/b.txt"}));
}

TEST_F(CopierTest, ADirectoryCopiesItsContents) {
  Copy(Req({"sub"}, "/s"));
  EXPECT_EQ(Tree(), (std::set<std::string>{"s/", "s/deep/", "s/deep/d.txt"}));
}

TEST_F(CopierTest, OneFileWithoutSlashIsTheDestinationName) {
  Copy(Req({"a.txt"}, "/renamed"));
  EXPECT_EQ(Tree(), (std::set<std::string>{"renamed"}));
  // Relative destinations are under the WORKDIR.
  CopyRequest r = Req({"b.txt"}, "rel/");
  r.workdir = "/work";
  Copy(r);
  EXPECT_TRUE(fs::exists(dir_ / "root/work/rel/b.txt"));
}

TEST_F(CopierTest, SeveralSourcesNeedADirectoryDestination) {
  try {
    Copy(Req({"a.txt", "b.txt"}, "/file"));
    FAIL() << "copied several sources to a file name";
  } catch (const CopyError& e) {
    EXPECT_NE(std::string(e.what()).find("the destination must be a directory and end with a /"), std::string::npos);
  }
}

TEST_F(CopierTest, ParentsKeepTheSourcePath) {
  CopyRequest r = Req({"sub/deep/d.txt"}, "/p/");
  r.parents = true;
  Copy(r);
  EXPECT_TRUE(fs::exists(dir_ / "root/p/sub/deep/d.txt"));
}

TEST_F(CopierTest, ExcludesAndDockerignore) {
  CopyRequest r = Req({"."}, "/all/");
  r.excludes = {"*.md"};
  Copy(r);
  EXPECT_FALSE(fs::exists(dir_ / "root/all/c.md"));
  EXPECT_TRUE(fs::exists(dir_ / "root/all/a.txt"));
  frontend::IgnoreMatcher ignore({"sub", "b.txt"});
  CopyRequest i = Req({"."}, "/ctx/");
  i.ignore = &ignore;
  Copy(i);
  EXPECT_TRUE(fs::exists(dir_ / "root/ctx/a.txt"));
  EXPECT_FALSE(fs::exists(dir_ / "root/ctx/b.txt"));
  EXPECT_FALSE(fs::exists(dir_ / "root/ctx/sub"));
  // What the key hashes is what the copy reads.
  std::set<std::string> selected;
  for (const auto& f : SelectCopyInputs(i)) selected.insert(f.path);
  EXPECT_EQ(selected, (std::set<std::string>{"", "/a.txt", "/c.md"}));  // "" is the context directory
}

TEST_F(CopierTest, HeredocsChmodAndMissingSources) {
  CopyRequest r = Req({}, "/h/");
  r.heredocs = {{"script.sh", "echo hi\n"}};
  r.chmod = "0755";
  Copy(r);
  struct stat st;
  ASSERT_EQ(::stat((dir_ / "root/h/script.sh").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  EXPECT_THROW(Copy(Req({"nope.txt"}, "/x")), CopyError);
}

TEST_F(CopierTest, SymlinksAreCopiedAsLinksAndNeverFollowedOut) {
  fs::create_symlink("a.txt", dir_ / "src/link");
  Copy(Req({"link"}, "/l/"));
  // A top-level symlink source is followed inside the source root, under the link's name.
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(dir_ / "root/l/link")));
  // A source symlink that leads out of the source root is refused, never followed.
  fs::create_symlink("/etc", dir_ / "src/out");
  try {
    Copy(Req({"out"}, "/m/"));
    FAIL() << "followed a symlink out of the source";
  } catch (const CopyError& e) {
    EXPECT_NE(std::string(e.what()).find("is a symlink to something outside or missing from the source"),
              std::string::npos);
  }
  EXPECT_FALSE(fs::exists(dir_ / "root/m/passwd"));
}

// The top directory's subdirectories are copied on several threads: the tree is the same, files
// hardlinked across those subdirectories stay one inode, and every file is counted once.
TEST_F(CopierTest, SubdirectoriesCopiedInParallelGiveTheSameTree) {
  for (int d = 0; d < 6; ++d) {
    for (int f = 0; f < 50; ++f) dir_.Write("tree/d" + std::to_string(d) + "/f" + std::to_string(f), std::to_string(d * f));
  }
  for (int d = 1; d < 6; ++d) {
    ASSERT_EQ(::link((dir_ / "tree/d0/f7").c_str(), (dir_ / ("tree/d" + std::to_string(d) + "/linked")).c_str()), 0);
  }
  CopyRequest r = Req({"."}, "/out/");
  r.src_root = dir_ / "tree";
  std::vector<CopiedFile> copied;
  r.copied = &copied;
  CopyStats stats = Copy(r);
  EXPECT_EQ(stats.files, 6 * 50 + 5);
  EXPECT_EQ(stats.dirs, 7);
  // Every entry is reported (the 7 directories too, and /out once more as a parent the copy
  // ensured); the 6 linked names and the parent carry no stamp.
  EXPECT_EQ(copied.size(), 6u * 50 + 5 + 7 + 1);
  EXPECT_EQ(std::count_if(copied.begin(), copied.end(), [](const CopiedFile& f) { return f.stamp.mode == 0; }), 7);
  struct stat first, other;
  ASSERT_EQ(::stat((dir_ / "root/out/d0/f7").c_str(), &first), 0);
  for (int d = 1; d < 6; ++d) {
    ASSERT_EQ(::stat((dir_ / ("root/out/d" + std::to_string(d) + "/linked")).c_str(), &other), 0);
    EXPECT_EQ(other.st_ino, first.st_ino) << d;
  }
  EXPECT_EQ(first.st_nlink, 6u);
  std::ifstream in(dir_ / "root/out/d5/f9");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "45");
  // A failure in one subdirectory fails the whole copy, with that subdirectory's error.
  dir_.Write("root/again/d3", "a file where a directory goes");
  CopyRequest again = Req({"."}, "/again/");
  again.src_root = dir_ / "tree";
  try {
    Copy(again);
    FAIL() << "copied onto a file";
  } catch (const CopyError& e) {
    EXPECT_NE(std::string(e.what()).find("/again/d3"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace imgbuild::builder
