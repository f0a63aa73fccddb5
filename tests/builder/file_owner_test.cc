// USER for RUN resolved through the image's own passwd and group files, as runc does.
#include "builder/rootfs/file_owner.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace imgbuild::builder {
namespace {

class ExecUserTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char t[] = "/tmp/imgbuild-user-XXXXXX";
    root_ = mkdtemp(t);
    std::filesystem::create_directories(root_ + "/etc");
    std::ofstream(root_ + "/etc/passwd") << "root:x:0:0:root:/root:/bin/sh\n"
                                            "# a comment\n"
                                            "app:x:1000:1000:app:/home/app:/bin/sh\n"
                                            "svc:x:998:50::/srv:/bin/false\n";
    std::ofstream(root_ + "/etc/group") << "root:x:0:\nstaff:x:50:app,svc\nwheel:x:10:app\napp:x:1000:\n";
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::string root_;
};

TEST_F(ExecUserTest, NamesAndIds) {
  ExecUser u = ResolveExecUser("app", root_);
  EXPECT_EQ(u.uid, 1000u);
  EXPECT_EQ(u.gid, 1000u);
  EXPECT_EQ(u.groups, (std::vector<gid_t>{1000, 50, 10}));  // the primary group first
  EXPECT_EQ(u.home, "/home/app");
  // A uid in passwd is that user, with its groups.
  u = ResolveExecUser("998", root_);
  EXPECT_EQ(u.gid, 50u);
  EXPECT_EQ(u.groups, (std::vector<gid_t>{50}));
  EXPECT_EQ(u.home, "/srv");
  // A uid that passwd lacks is used as is: group 0, home /.
  u = ResolveExecUser("4321", root_);
  EXPECT_EQ(u.uid, 4321u);
  EXPECT_EQ(u.gid, 0u);
  EXPECT_EQ(u.groups, (std::vector<gid_t>{0}));
  EXPECT_EQ(u.home, "/");
  u = ResolveExecUser("", root_);
  EXPECT_EQ(u.uid, 0u);
  EXPECT_EQ(u.home, "/root");
}

TEST_F(ExecUserTest, ExplicitGroupDropsSupplementaryGroups) {
  ExecUser u = ResolveExecUser("app:staff", root_);
  EXPECT_EQ(u.gid, 50u);
  EXPECT_EQ(u.groups, (std::vector<gid_t>{50}));  // only the group asked for
  EXPECT_EQ(ResolveExecUser("app:77", root_).gid, 77u);
  EXPECT_EQ(ResolveExecUser("app:10", root_).gid, 10u);
}

TEST_F(ExecUserTest, UnknownNamesFail) {
  EXPECT_THROW(ResolveExecUser("ghost", root_), OwnerError);
  EXPECT_THROW(ResolveExecUser("app:ghosts", root_), OwnerError);
  std::filesystem::remove(root_ + "/etc/passwd");
  EXPECT_THROW(ResolveExecUser("app", root_), OwnerError);
  EXPECT_EQ(ResolveExecUser("1000", root_).uid, 1000u);
}

TEST_F(ExecUserTest, PasswdReadInsideTheRoot) {
  // /etc/passwd as a symlink to an absolute path resolves inside the root, never on the host.
  std::filesystem::create_directories(root_ + "/alt");
  std::filesystem::rename(root_ + "/etc/passwd", root_ + "/alt/passwd");
  std::filesystem::create_symlink("/alt/passwd", root_ + "/etc/passwd");
  EXPECT_EQ(ResolveExecUser("app", root_).uid, 1000u);
}

}  // namespace
}  // namespace imgbuild::builder
