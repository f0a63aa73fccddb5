// Security: a COPY gives the image exactly the context's files (issue 12, items 14 and 15). Hard
// links count in the step's cache key, so a cache hit never hands out an image whose files are
// linked when the context's are not (or the reverse); extended attributes (user.*, file
// capabilities) are copied, as the key already assumed.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "../e2e/busybox_fixture.h"

namespace imgbuild::testing {
namespace {

namespace fs = std::filesystem;

using CopyIntegrityTest = BusyboxTest;

TEST_F(CopyIntegrityTest, HardLinksAreInTheCacheKey) {
  std::string ctx = dir_ + "/links";
  fs::create_directories(ctx + "/d");
  std::ofstream(ctx + "/d/a") << "same\n";
  std::ofstream(ctx + "/d/b") << "same\n";
  const std::string buildfile = "FROM busybox:local\nCOPY d/ /d/\n";
  RunResult r = Build("links", buildfile, "-o type=local,dest=" + dir_ + "/apart");
  ASSERT_EQ(r.code, 0) << r.err;
  fs::remove(ctx + "/d/b");
  fs::create_hard_link(ctx + "/d/a", ctx + "/d/b");
  r = Build("links", buildfile, "-o type=local,dest=" + dir_ + "/linked");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(CountOf(r.err, " CACHED"), 0u) << r.err;  // the COPY ran again
  struct stat a, b;
  ASSERT_EQ(::stat((dir_ + "/linked/d/a").c_str(), &a), 0);
  ASSERT_EQ(::stat((dir_ + "/linked/d/b").c_str(), &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);  // linked, as the context is
  // And back: apart again is a different key too (or the cache hit of the first build).
  fs::remove(ctx + "/d/b");
  std::ofstream(ctx + "/d/b") << "same\n";
  r = Build("links", buildfile, "-o type=local,dest=" + dir_ + "/again");
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(::stat((dir_ + "/again/d/a").c_str(), &a), 0);
  ASSERT_EQ(::stat((dir_ + "/again/d/b").c_str(), &b), 0);
  EXPECT_NE(a.st_ino, b.st_ino);
}

std::string GetXattr(const std::string& path, const char* name) {
  char buf[256];
  ssize_t n = ::lgetxattr(path.c_str(), name, buf, sizeof buf);
  return n < 0 ? "(none)" : std::string(buf, static_cast<size_t>(n));
}

TEST_F(CopyIntegrityTest, ExtendedAttributesAreCopied) {
  std::string ctx = dir_ + "/xattrs";
  fs::create_directories(ctx + "/d/sub");
  std::ofstream(ctx + "/d/tool") << "#!/bin/sh\n";
  ::chmod((ctx + "/d/tool").c_str(), 0755);
  // cap_net_bind_service+ep, as setcap writes it (VFS_CAP_REVISION_2, effective).
  const uint32_t cap[5] = {0x02000001, 1u << 10, 0, 0, 0};
  std::string cap_bytes(reinterpret_cast<const char*>(cap), sizeof cap);
  if (::setxattr((ctx + "/d/tool").c_str(), "user.origin", "context", 7, 0) != 0 ||
      ::setxattr((ctx + "/d/sub").c_str(), "user.dir", "yes", 3, 0) != 0) {
    GTEST_SKIP() << "the test directory's filesystem has no user xattrs: " << std::strerror(errno);
  }
  ASSERT_EQ(::setxattr((ctx + "/d/tool").c_str(), "security.capability", cap_bytes.data(), cap_bytes.size(), 0), 0)
      << std::strerror(errno);
  RunResult r = Build("xattrs", "FROM busybox:local\nCOPY d /d\nCOPY --chown=1:1 d/tool /chowned\n",
                      "-o type=local,dest=" + dir_ + "/out");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(GetXattr(dir_ + "/out/d/tool", "user.origin"), "context");
  EXPECT_EQ(GetXattr(dir_ + "/out/d/sub", "user.dir"), "yes");
  EXPECT_EQ(GetXattr(dir_ + "/out/d/tool", "security.capability"), cap_bytes);
  // chown clears file capabilities in the kernel; the copy sets them after the owner.
  EXPECT_EQ(GetXattr(dir_ + "/out/chowned", "security.capability"), cap_bytes);
}

}  // namespace
}  // namespace imgbuild::testing
