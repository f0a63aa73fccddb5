// Incremental COPY's pieces on plain directories: manifests survive any file name and refuse torn
// text; LinkPrevious links the previous files; a copy over them keeps exactly those whose source
// kept its stamp, gives the tree a fresh copy gives and leaves the previous tree as it was.
#include "builder/ops/copy_reuse.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "../support/temp_dir.h"
#include "builder/rootfs/copier.h"
#include "layers/sys_error.h"

namespace imgbuild::builder {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

class CopyReuseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.Write("src/a.txt", "a");
    dir_.Write("src/sub/b.txt", "b");
    dir_.Write("src/sub/deep/c.txt", "c");
    ::symlink("a.txt", (dir_ / "src/link").c_str());
  }
  CopyRequest Req(const std::string& root) {
    fs::create_directories(dir_ / root);
    CopyRequest r;
    r.src_root = dir_ / "src";
    r.sources = {"."};
    r.dest = "/app/";
    r.lower_root = dir_ / root;
    r.upper = dir_ / root;
    return r;
  }
  // path -> content (files), "-> target" (symlinks), "/" (directories)
  std::map<std::string, std::string> Tree(const std::string& root) {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(dir_ / root)) {
      std::string rel = e.path().lexically_relative(dir_ / root).string();
      if (e.is_symlink()) out[rel] = "-> " + fs::read_symlink(e.path()).string();
      else if (e.is_directory()) out[rel] = "/";
      else out[rel] = layers::ReadFile(e.path());
    }
    return out;
  }
  ino_t Inode(const std::string& rel) {
    struct stat st;
    EXPECT_EQ(::lstat((dir_ / rel).c_str(), &st), 0) << rel;
    return st.st_ino;
  }
  TempDir dir_{"imgbuild-copy-reuse"};
};

TEST_F(CopyReuseTest, ACopyOverLinkedFilesGivesAFreshCopyAndLeavesThePreviousOne) {
  std::vector<CopiedFile> first;
  CopyRequest r1 = Req("prev");
  r1.copied = &first;
  Copy(r1);
  ASSERT_EQ(first.size(), 8u);  // 3 files, a symlink, 3 directories, /app as an ensured parent
  std::map<std::string, std::string> before = Tree("prev");

  std::ofstream(dir_ / "src/sub/b.txt") << "b, changed";
  CopyRequest r2 = Req("next");
  LinkedPrevious linked = LinkPrevious({"prev", first}, {dir_ / "prev"}, dir_ / "next");
  std::map<std::string, InPlaceFile>& in_place = linked.files;
  EXPECT_EQ(in_place.size(), 3u);
  EXPECT_EQ(Inode("next/app/a.txt"), Inode("prev/app/a.txt"));
  std::vector<CopiedFile> second;
  r2.in_place = &in_place;
  r2.copied = &second;
  CopyStats stats = Copy(r2);
  EXPECT_EQ(stats.files, 3);
  EXPECT_EQ(stats.kept, 2);
  EXPECT_NE(Inode("next/app/sub/b.txt"), Inode("prev/app/sub/b.txt"));
  RemoveUnreached(linked, second, dir_ / "next");  // every linked file was reached: nothing goes

  CopyRequest fresh = Req("fresh");
  Copy(fresh);
  EXPECT_EQ(Tree("next"), Tree("fresh"));
  EXPECT_EQ(Tree("prev"), before);  // the changed file was replaced, not written through the link
  EXPECT_EQ(Inode("next/app/a.txt"), Inode("prev/app/a.txt"));
}

// Files the previous result held that are now written as something else (hard links, a
// symlink) are reached: removing what the copy did not reach leaves them.
TEST_F(CopyReuseTest, FilesThatBecameLinksOrSymlinksAreNotRemovedAfter) {
  std::vector<CopiedFile> first;
  CopyRequest r1 = Req("prev");
  r1.copied = &first;
  Copy(r1);
  fs::remove(dir_ / "src/sub/b.txt");
  ASSERT_EQ(::link((dir_ / "src/a.txt").c_str(), (dir_ / "src/sub/b.txt").c_str()), 0);
  fs::remove(dir_ / "src/sub/deep/c.txt");
  fs::create_symlink("../b.txt", dir_ / "src/sub/deep/c.txt");
  CopyRequest r2 = Req("next");
  LinkedPrevious linked = LinkPrevious({"prev", first}, {dir_ / "prev"}, dir_ / "next");
  ASSERT_EQ(linked.files.size(), 3u);
  std::vector<CopiedFile> second;
  r2.in_place = &linked.files;
  r2.copied = &second;
  Copy(r2);
  RemoveUnreached(linked, second, dir_ / "next");
  CopyRequest fresh = Req("fresh");
  Copy(fresh);
  EXPECT_EQ(Tree("next"), Tree("fresh"));
  EXPECT_EQ(Inode("next/app/a.txt"), Inode("next/app/sub/b.txt"));
  EXPECT_TRUE(fs::is_symlink(dir_ / "next/app/sub/deep/c.txt"));
}

TEST_F(CopyReuseTest, FilesAndDirectoriesThatLeftTheSelectionAreRemoved) {
  dir_.Write("src/gone/deeper/x.txt", "x");
  dir_.Write("src/sub/y.txt", "y");
  std::vector<CopiedFile> first;
  CopyRequest r1 = Req("prev");
  r1.copied = &first;
  Copy(r1);
  CopyRequest r2 = Req("next");
  LinkedPrevious linked = LinkPrevious({"prev", first}, {dir_ / "prev"}, dir_ / "next");
  ASSERT_EQ(linked.files.size(), 5u);
  fs::remove_all(dir_ / "src/gone");  // a directory deleted, and a file of one that stays
  fs::remove(dir_ / "src/sub/y.txt");
  std::vector<CopiedFile> second;
  r2.in_place = &linked.files;
  r2.copied = &second;
  Copy(r2);
  RemoveUnreached(linked, second, dir_ / "next");
  Copy(Req("fresh"));
  EXPECT_EQ(Tree("next"), Tree("fresh"));
  EXPECT_FALSE(fs::exists(dir_ / "next/app/gone"));
  EXPECT_TRUE(fs::exists(dir_ / "prev/app/gone/deeper/x.txt"));  // the previous result keeps its files
}

TEST_F(CopyReuseTest, ASourceReplacedBySymlinkOrWithAnotherStampIsNotKept) {
  std::vector<CopiedFile> first;
  CopyRequest r1 = Req("prev");
  r1.copied = &first;
  Copy(r1);
  std::map<std::string, std::string> before = Tree("prev");
  fs::remove(dir_ / "src/a.txt");
  ::symlink("/etc/passwd", (dir_ / "src/a.txt").c_str());
  ::chmod((dir_ / "src/sub/b.txt").c_str(), 0600);
  CopyRequest r2 = Req("next");
  LinkedPrevious linked = LinkPrevious({"prev", first}, {dir_ / "prev"}, dir_ / "next");
  r2.in_place = &linked.files;
  CopyStats stats = Copy(r2);
  EXPECT_EQ(stats.kept, 1);  // sub/deep/c.txt
  Copy(Req("fresh"));
  EXPECT_EQ(Tree("next"), Tree("fresh"));
  std::map<std::string, std::string> next = Tree("next");
  EXPECT_EQ(next["app/a.txt"], "-> /etc/passwd") << ::testing::PrintToString(next);
  EXPECT_EQ(Tree("prev"), before);
  struct stat st;
  ASSERT_EQ(::stat((dir_ / "next/app/sub/b.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(CopyReuseTest, ManifestsKeepAnyNameAndRefuseTornText) {
  CopyManifests m(dir_ / "copies");
  FileStamp old;
  old.ctime_ns = 1'000'000'000;  // long settled
  old.size = 7;
  old.mode = 0100644;
  FileStamp now = old;
  now.ctime_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                     std::chrono::system_clock::now().time_since_epoch()).count();
  std::vector<CopiedFile> files = {{"a\tb\nc\\d", "app/a\tb\nc\\d", old}, {"fresh", "app/fresh", now}};
  m.Save("lineage", "c-1", files);
  std::optional<CopyManifest> back = m.Load("lineage");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->snapshot, "c-1");
  ASSERT_EQ(back->files.size(), 1u);  // one changed a moment ago is copied again next time
  EXPECT_EQ(back->files[0].src, files[0].src);
  EXPECT_EQ(back->files[0].dst, files[0].dst);
  EXPECT_EQ(back->files[0].stamp, old);
  EXPECT_FALSE(m.Load("other"));
  std::string text = layers::ReadFile(dir_ / "copies/lineage");
  std::ofstream(dir_ / "copies/lineage") << text.substr(0, text.size() - 5);
  EXPECT_FALSE(m.Load("lineage"));
  std::ofstream(dir_ / "copies/lineage") << "something else\n";
  EXPECT_FALSE(m.Load("lineage"));
  for (const std::string dst : {"../../etc/passwd", "/etc/passwd", "app/./x", "app//x", ""}) {
    std::ofstream(dir_ / "copies/lineage") << "imgbuild copy manifest v1\nsnapshot c-1\nsrc\t" << dst << "\t1 2 3 4 5 6 7 8\n";
    EXPECT_FALSE(m.Load("lineage")) << dst;
  }
}

}  // namespace
}  // namespace imgbuild::builder
