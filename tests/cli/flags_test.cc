// The structured flag values: one splitter, typed specs, clear errors before anything runs.
#include "builder/cli/flags.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <stdlib.h>

namespace imgbuild::builder {
namespace {

using KV = std::vector<std::pair<std::string, std::string>>;

TEST(FlagsTest, SplitsKeyValues) {
  EXPECT_EQ(SplitKeyValues("type=oci,dest=/x,tar=false"), (KV{{"type", "oci"}, {"dest", "/x"}, {"tar", "false"}}));
  EXPECT_EQ(SplitKeyValues("a=b=c,,flag"), (KV{{"a", "b=c"}, {"flag", ""}}));
  EXPECT_EQ(SplitList("a,,b"), (std::vector<std::string>{"a", "b"}));
}

TEST(FlagsTest, Outputs) {
  OutputSpec o = ParseOutputSpec("type=oci,dest=out.tar,tar=false");
  EXPECT_EQ(o.type, "oci");
  EXPECT_EQ(o.dest, "out.tar");
  EXPECT_FALSE(o.tar);
  o = ParseOutputSpec("type=registry,name=reg:5000/a:1");
  EXPECT_EQ(o.type, "image");
  EXPECT_TRUE(o.push);
  // buildx: no dest is standard output; `-` and a bare PATH are shorthands.
  EXPECT_EQ(ParseOutputSpec("type=oci").dest, "-");
  o = ParseOutputSpec("-");
  EXPECT_EQ(o.type, "tar");
  EXPECT_EQ(o.dest, "-");
  o = ParseOutputSpec("out/rootfs");
  EXPECT_EQ(o.type, "local");
  EXPECT_EQ(o.dest, "out/rootfs");
  EXPECT_THROW(ParseOutputSpec("type=local"), std::invalid_argument);
  EXPECT_THROW(ParseOutputSpec("type=local,dest=-"), std::invalid_argument);
  EXPECT_THROW(ParseOutputSpec("type=oci,tar=false"), std::invalid_argument);
  EXPECT_THROW(ParseOutputSpec("type=weird,dest=x"), std::invalid_argument);
  EXPECT_THROW(ParseOutputSpec("type=oci,dest=x,colour=red"), std::invalid_argument);
}

TEST(FlagsTest, CacheSpecs) {
  cache::CacheTransferSpec c = ParseCacheSpec("type=local,dest=/c,mode=max", true);
  EXPECT_EQ(c.dir, "/c");
  EXPECT_TRUE(c.max);
  c = ParseCacheSpec("type=registry,ref=reg:5000/cache:x", false);
  EXPECT_EQ(c.ref, "reg:5000/cache:x");
  EXPECT_THROW(ParseCacheSpec("type=local,dest=/c", false), std::invalid_argument);  // import wants src=
  EXPECT_THROW(ParseCacheSpec("type=registry,ref=reg/Bad", false), std::invalid_argument);
  EXPECT_THROW(ParseCacheSpec("type=s3,dest=x", true), std::invalid_argument);
}

TEST(FlagsTest, SecretsAndSsh) {
  auto [id, src] = ParseSecretFlag("id=npm,src=/run/npmrc");
  EXPECT_EQ(id, "npm");
  EXPECT_EQ(src.file, "/run/npmrc");
  ::setenv("IMGBUILD_FLAGS_TEST_TOKEN", "x", 1);
  EXPECT_EQ(ParseSecretFlag("id=IMGBUILD_FLAGS_TEST_TOKEN").second.env, "IMGBUILD_FLAGS_TEST_TOKEN");
  EXPECT_EQ(ParseSecretFlag("id=IMGBUILD_FLAGS_TEST_TOKEN,type=file").second.file, "IMGBUILD_FLAGS_TEST_TOKEN");
  EXPECT_THROW(ParseSecretFlag("src=/x"), std::invalid_argument);
  EXPECT_THROW(ParseSecretFlag("id=a,src=/x,env=Y"), std::invalid_argument);
  EXPECT_EQ(ParseSshFlag("gh=/k/id_a,/k/id_b").second, (std::vector<std::string>{"/k/id_a", "/k/id_b"}));
  ::setenv("SSH_AUTH_SOCK", "/run/agent.sock", 1);
  EXPECT_EQ(ParseSshFlag("default").second, (std::vector<std::string>{"/run/agent.sock"}));
}

TEST(FlagsTest, AddHostAndUlimit) {
  EXPECT_EQ(ParseAddHost("db:10.0.0.5"), (std::pair<std::string, std::string>{"db", "10.0.0.5"}));
  EXPECT_EQ(ParseAddHost("db=10.0.0.5"), (std::pair<std::string, std::string>{"db", "10.0.0.5"}));
  EXPECT_EQ(ParseAddHost("v6:fd00::1"), (std::pair<std::string, std::string>{"v6", "fd00::1"}));
  EXPECT_EQ(ParseAddHost("v6=[::1]"), (std::pair<std::string, std::string>{"v6", "::1"}));
  for (const char* bad : {"db", ":1.2.3.4", "db:", "db:host-gateway", "db:10.0.0.256", "d b:1.2.3.4", "db\n:1.2.3.4"}) {
    SCOPED_TRACE(bad);
    EXPECT_THROW(ParseAddHost(bad), std::invalid_argument);
  }
  SandboxRlimit l = ParseUlimit("nofile=1024:2048");
  EXPECT_EQ(l.resource, RLIMIT_NOFILE);
  EXPECT_EQ(l.soft, 1024u);
  EXPECT_EQ(l.hard, 2048u);
  l = ParseUlimit("core=-1");
  EXPECT_EQ(l.soft, RLIM_INFINITY);
  EXPECT_EQ(l.hard, RLIM_INFINITY);
  EXPECT_EQ(ParseUlimit("nproc=10").hard, 10u);
  for (const char* bad : {"nofile", "nofil=1", "nofile=x", "nofile=2:1", "nofile=-2", "nofile=1:", "=1"}) {
    SCOPED_TRACE(bad);
    EXPECT_THROW(ParseUlimit(bad), std::invalid_argument);
  }
}

TEST(FlagsTest, CacheFromShorthand) {
  cache::CacheTransferSpec s = ParseCacheSpec("reg.example:5000/app:cache", false);
  EXPECT_EQ(s.type, "registry");
  EXPECT_EQ(s.ref, "reg.example:5000/app:cache");
  EXPECT_THROW(ParseCacheSpec("reg.example:5000/app:cache", true), std::invalid_argument);  // --cache-to has no shorthand
}

}  // namespace
}  // namespace imgbuild::builder
