// Image references (Docker's normalisation), WWW-Authenticate challenges and base64.
#include <gtest/gtest.h>

#include "layers/oci_layout.h"

#include "layers/registry/auth.h"
#include "layers/registry/reference.h"

namespace imgbuild::layers::registry {
namespace {

TEST(ReferenceTest, DockerNormalisation) {
  Reference r = Reference::Parse("busybox");
  EXPECT_EQ(r.domain, "docker.io");
  EXPECT_EQ(r.repository, "library/busybox");
  EXPECT_EQ(r.tag, "latest");
  EXPECT_EQ(r.Endpoint(), "registry-1.docker.io");
  EXPECT_EQ(r.String(), "docker.io/library/busybox:latest");
  EXPECT_EQ(Reference::Parse("team/app:1.2").repository, "team/app");
  EXPECT_EQ(Reference::Parse("index.docker.io/library/alpine").domain, "docker.io");
  r = Reference::Parse("127.0.0.1:5000/team/app:v1");
  EXPECT_EQ(r.domain, "127.0.0.1:5000");
  EXPECT_EQ(r.repository, "team/app");
  EXPECT_EQ(r.Name(), "127.0.0.1:5000/team/app:v1");
  r = Reference::Parse("localhost/app");
  EXPECT_EQ(r.domain, "localhost");
  r = Reference::Parse("reg.example.com/app@sha256:" + std::string(64, 'a'));
  EXPECT_EQ(r.tag, "");
  EXPECT_EQ(r.Object(), "sha256:" + std::string(64, 'a'));
  r = Reference::Parse("reg.example.com:443/a/b/c:t@sha256:" + std::string(64, 'b'));
  EXPECT_EQ(r.tag, "t");
  EXPECT_EQ(r.repository, "a/b/c");
}

TEST(ReferenceTest, InvalidOnes) {
  for (const char* bad : {"", "UPPER", "app:", "app@sha256:xyz", "a//b", "app:-bad", "-app", "a b", "a:b:c", "../../x",
                          "x\ny", "reg\n.io/x", "re g.io/x", "\x1b[31m.io/x"}) {
    EXPECT_THROW(Reference::Parse(bad), ReferenceError) << bad;
  }
  try {
    Reference::Parse("evil\n\x1b[2J");
  } catch (const ReferenceError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("evil\\x0a\\x1b[2J"), std::string::npos) << what;  // shown escaped
  }
}

TEST(AuthTest, Challenges) {
  auto c = ParseChallenge(R"(Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull")");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->scheme, "bearer");
  EXPECT_EQ(c->params["realm"], "https://auth.example/token");
  EXPECT_EQ(c->params["service"], "registry.example");
  EXPECT_EQ(c->params["scope"], "repository:a/b:pull");
  c = ParseChallenge(R"(Basic realm="Registry Realm")");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->scheme, "basic");
  EXPECT_FALSE(ParseChallenge("garbage"));
}

// Docker's familiar form, and the store's names built on it.
TEST(ReferenceTest, FamiliarFormAndStoreNames) {
  EXPECT_EQ(Reference::Parse("docker.io/library/busybox:latest").Familiar(), "busybox:latest");
  EXPECT_EQ(Reference::Parse("library/busybox").Familiar(), "busybox:latest");
  EXPECT_EQ(Reference::Parse("index.docker.io/team/app:1").Familiar(), "team/app:1");
  EXPECT_EQ(Reference::Parse("docker.io/library/a/b:1").Familiar(), "library/a/b:1");
  EXPECT_EQ(Reference::Parse("localhost:5000/app").Familiar(), "localhost:5000/app:latest");
  std::string d = "sha256:" + std::string(64, 'a');
  EXPECT_EQ(Reference::Parse("busybox@" + d).Familiar(), "busybox@" + d);
  EXPECT_EQ(NormalizeTag("docker.io/library/busybox"), "busybox:latest");
  EXPECT_EQ(NormalizeTag("reg:5000/app"), "reg:5000/app:latest");
  EXPECT_EQ(FullName("busybox"), "docker.io/library/busybox:latest");
  EXPECT_EQ(FullName("imgbuild-context/x:latest"), "docker.io/imgbuild-context/x:latest");
}

TEST(AuthTest, Base64RoundTrip) {
  EXPECT_EQ(Base64("user:pass"), "dXNlcjpwYXNz");
  EXPECT_EQ(Base64("a"), "YQ==");
  for (std::string s : {"", "a", "ab", "abc", "user:p@ss:word"}) EXPECT_EQ(Base64Decode(Base64(s)), s);
  std::string binary("\0\xff\x10=", 4);
  EXPECT_EQ(Base64Decode(Base64(binary)), binary);
  EXPECT_EQ(Base64Decode("dXNlcjpwYXNz\n"), "user:pass");  // a trailing newline, as some configs have
  EXPECT_EQ(Base64Decode("not base64!"), "");
}

}  // namespace
}  // namespace imgbuild::layers::registry
