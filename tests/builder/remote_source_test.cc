// ADD's remote sources as BuildKit reads them: which are Git, which are files, their names.
#include "builder/ops/remote_source.h"

#include <gtest/gtest.h>

namespace imgbuild::builder {
namespace {

TEST(RemoteSourceTest, Classify) {
  EXPECT_EQ(ClassifySource("src/"), SourceKind::kLocal);
  EXPECT_EQ(ClassifySource("https://example.com/tini"), SourceKind::kHttp);
  EXPECT_EQ(ClassifySource("https://example.com/a.tar.gz?x=1"), SourceKind::kHttp);
  EXPECT_EQ(ClassifySource("https://github.com/moby/buildkit.git#v0.12"), SourceKind::kGit);
  EXPECT_EQ(ClassifySource("git@github.com:moby/buildkit.git"), SourceKind::kGit);
  EXPECT_EQ(ClassifySource("git://host/repo"), SourceKind::kGit);
  EXPECT_EQ(ClassifySource("ssh://git@host/repo.git"), SourceKind::kGit);
}

TEST(RemoteSourceTest, GitRefsAndSubdirs) {
  GitSource g = ParseGitSource("https://host/r.git#main:docs/api/");
  EXPECT_EQ(g.remote, "https://host/r.git");
  EXPECT_EQ(g.ref, "main");
  EXPECT_EQ(g.subdir, "docs/api");
  EXPECT_EQ(ParseGitSource("git@host:r.git").ref, "");
  EXPECT_THROW(ParseGitSource("https://host/r.git#main:../x"), std::invalid_argument);
  EXPECT_THROW(ParseGitSource("https://host/r.git#--upload-pack=x"), std::invalid_argument);
  EXPECT_THROW(ParseGitSource("https://host/file"), std::invalid_argument);
}

TEST(RemoteSourceTest, FileNamesNeverLeaveTheirDirectory) {
  EXPECT_EQ(UrlFileName("https://host/dl/tini-static?v=1"), "tini-static");
  EXPECT_EQ(UrlFileName("https://host/dir/"), "dir");  // as path.Base
  EXPECT_EQ(UrlFileName("https://host/"), "");
  EXPECT_EQ(UrlFileName("https://host"), "");
  EXPECT_EQ(UrlFileName("https://host/a/.."), "");
  EXPECT_EQ(UrlFileName("https://host/a/."), "");
}

}  // namespace
}  // namespace imgbuild::builder
