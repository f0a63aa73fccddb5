// Input digests: what counts (path, type, mode, owner, link target, xattrs, bytes) and what does
// not (times), the memo that makes unchanged files cost one stat, and its file format.
#include "cache/input_digest.h"

#include <gtest/gtest.h>
#include <chrono>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "../support/temp_dir.h"

namespace imgbuild::cache {
namespace {

namespace fs = std::filesystem;

class InputDigestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(dir_ + "/a.txt") << "alpha";
    std::ofstream(dir_ + "/b.txt") << "beta";
    fs::create_symlink("a.txt", dir_ + "/link");
    // Old enough to be remembered by the memo.
    std::system(("touch -d '2020-01-01' " + dir_ + "/a.txt " + dir_ + "/b.txt").c_str());
  }
  std::vector<InputFile> Files() {
    std::vector<InputFile> out;
    for (const char* n : {"a.txt", "b.txt", "link"}) {
      InputFile f;
      f.path = n;
      f.source = dir_ + "/" + n;
      ::lstat(f.source.c_str(), &f.st);
      out.push_back(f);
    }
    return out;
  }
  layers::Digest Digest() {
    FileDigestMemo memo("");
    return DigestInputs(Files(), memo, 2).digest;
  }
  testing::TempDir tmp_{"imgbuild-inputs"};
  std::string dir_ = tmp_.path();
};

TEST_F(InputDigestTest, WhatCounts) {
  layers::Digest base = Digest();
  EXPECT_EQ(Digest(), base);  // stable
  std::system(("touch -d '2021-05-05' " + dir_ + "/a.txt").c_str());
  EXPECT_EQ(Digest(), base);  // times do not count
  std::ofstream(dir_ + "/a.txt") << "ALPHA";
  layers::Digest bytes = Digest();
  EXPECT_NE(bytes, base);
  ::chmod((dir_ + "/a.txt").c_str(), 0600);
  layers::Digest mode = Digest();
  EXPECT_NE(mode, bytes);
  if (::geteuid() == 0) {
    ::lchown((dir_ + "/a.txt").c_str(), 1000, 1000);
    EXPECT_NE(Digest(), mode);
  }
  layers::Digest before_xattr = Digest();
  if (::setxattr((dir_ + "/b.txt").c_str(), "user.test", "1", 1, 0) == 0) {
    EXPECT_NE(Digest(), before_xattr);
  }
  layers::Digest before_link = Digest();
  fs::remove(dir_ + "/link");
  fs::create_symlink("b.txt", dir_ + "/link");
  EXPECT_NE(Digest(), before_link);
}

// Two files with the same bytes, apart or hard-linked together, are different inputs: the copy
// links them (issue 12, item 14). A link to a file outside the selection changes nothing.
TEST_F(InputDigestTest, HardLinksCount) {
  std::ofstream(dir_ + "/b.txt", std::ios::trunc) << "alpha";
  std::system(("touch -d '2020-01-01' " + dir_ + "/b.txt").c_str());
  layers::Digest apart = Digest();
  fs::remove(dir_ + "/b.txt");
  fs::create_hard_link(dir_ + "/a.txt", dir_ + "/b.txt");
  layers::Digest linked = Digest();
  EXPECT_NE(linked, apart);
  fs::remove(dir_ + "/b.txt");
  std::ofstream(dir_ + "/b.txt") << "alpha";
  std::system(("touch -d '2020-01-01' " + dir_ + "/b.txt").c_str());
  fs::create_hard_link(dir_ + "/a.txt", tmp_.path() + "/../" + fs::path(dir_).filename().string() + "-outside");
  EXPECT_EQ(Digest(), apart);
  fs::remove(tmp_.path() + "/../" + fs::path(dir_).filename().string() + "-outside");
}

TEST_F(InputDigestTest, OrderAndDuplicatesDoNotMatter) {
  FileDigestMemo memo("");
  std::vector<InputFile> files = Files();
  InputDigest a = DigestInputs(files, memo, 1);
  std::reverse(files.begin(), files.end());
  files.push_back(files.front());
  InputDigest b = DigestInputs(files, memo, 4);
  EXPECT_EQ(a.digest, b.digest);
  ASSERT_EQ(b.files.size(), 3u);
  EXPECT_EQ(b.files[0].first, "a.txt");
}

TEST_F(InputDigestTest, MemoSkipsUnchangedFilesAcrossProcesses) {
  std::string memo_path = dir_ + "/memo";
  {
    FileDigestMemo memo(memo_path, 0);
    EXPECT_EQ(DigestInputs(Files(), memo, 2).hashed, 2u);  // two regular files read
    EXPECT_EQ(DigestInputs(Files(), memo, 2).hashed, 0u);
    memo.Flush();
  }
  FileDigestMemo again(memo_path, 0);  // a later build
  InputDigest d = DigestInputs(Files(), again, 2);
  EXPECT_EQ(d.hashed, 0u);
  // A changed file is read again (its ctime moved), and gives the new digest.
  std::ofstream(dir_ + "/b.txt") << "changed";
  InputDigest changed = DigestInputs(Files(), again, 2);
  EXPECT_EQ(changed.hashed, 1u);
  EXPECT_NE(changed.digest, d.digest);
  // A torn last line (a crash mid-append) is ignored.
  again.Flush();
  std::ofstream(memo_path, std::ios::app) << "deadbeef:1:2 0123";
  FileDigestMemo torn(memo_path, 0);
  EXPECT_EQ(torn.size(), again.size());  // the memo still loads, without the torn line
}

TEST_F(InputDigestTest, FreshFilesAreNotRemembered) {
  std::ofstream(dir_ + "/new.txt") << "just written";
  InputFile f;
  f.path = "new.txt";
  f.source = dir_ + "/new.txt";
  ::lstat(f.source.c_str(), &f.st);
  FileDigestMemo memo("");
  DigestInputs({f}, memo, 1);
  EXPECT_EQ(memo.size(), 0u);  // a change within the same timestamp tick would go unseen
}

// A file changed more than a tick ago on a filesystem with fine timestamps is remembered: the
// build right after a checkout leaves the memo its rebuild needs (issue 16).
TEST_F(InputDigestTest, FilesAFewTicksOldAreRemembered) {
  std::ofstream(dir_ + "/recent.txt") << "written 50 ms ago";
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  InputFile f;
  f.path = "recent.txt";
  f.source = dir_ + "/recent.txt";
  ::lstat(f.source.c_str(), &f.st);
  if (FileIdentity::Of(f.st).ctime_ns % 1'000'000'000 == 0) GTEST_SKIP() << "this filesystem has whole-second timestamps";
  FileDigestMemo memo("");
  DigestInputs({f}, memo, 1);
  EXPECT_EQ(memo.size(), 1u);
  EXPECT_NE(InputsFingerprint({f}, 2'000'000'000), "");
}

TEST(SettleNs, WholeSecondTimestampsWaitLonger) {
  FileIdentity fine, coarse;
  fine.ctime_ns = 1'700'000'000'123'456'789;
  coarse.ctime_ns = 1'700'000'000'000'000'000;
  EXPECT_EQ(SettleNs(fine, 2'000'000'000), kFineSettleNs);
  EXPECT_EQ(SettleNs(coarse, 2'000'000'000), 2'000'000'000);
  EXPECT_EQ(SettleNs(fine, 0), 0);  // never longer than asked
}

}  // namespace
}  // namespace imgbuild::cache
