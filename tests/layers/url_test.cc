// URLs through libcurl's URL API: escaping, queries added to URLs that may have one, Location
// headers resolved against the request, paths.
#include "layers/registry/url.h"

#include <gtest/gtest.h>

namespace imgbuild::layers::registry {
namespace {

TEST(Url, EscapeAndQueries) {
  EXPECT_EQ(UrlEscape("repository:a/b:pull,push"), "repository%3Aa%2Fb%3Apull%2Cpush");
  EXPECT_EQ(UrlEscape("a-b_c.d~e"), "a-b_c.d~e");
  EXPECT_EQ(WithQuery("https://auth.example/token", {{"service", "reg x"}, {"scope", "repository:a:pull"}}),
            "https://auth.example/token?service=reg%20x&scope=repository%3aa%3apull");
  // (libcurl writes percent-escapes in lower case in a URL it puts together: the same URL.)
  // A realm that already has a query keeps it.
  EXPECT_EQ(WithQuery("https://auth.example/token?realm=1", {{"scope", "s"}}), "https://auth.example/token?realm=1&scope=s");
  EXPECT_EQ(WithQuery("http://127.0.0.1:5000/v2/x/blobs/uploads/u?_state=abc", {{"digest", "sha256:00"}}),
            "http://127.0.0.1:5000/v2/x/blobs/uploads/u?_state=abc&digest=sha256%3a00");
  EXPECT_THROW(WithQuery("not a url at all", {{"a", "b"}}), UrlError);
}

TEST(Url, LocationsResolveAgainstTheRequest) {
  const std::string base = "https://reg.example:5000/v2/app/blobs/uploads/";
  EXPECT_EQ(ResolveUrl(base, "/v2/app/blobs/uploads/abc?_state=x"), "https://reg.example:5000/v2/app/blobs/uploads/abc?_state=x");
  EXPECT_EQ(ResolveUrl(base, "abc"), "https://reg.example:5000/v2/app/blobs/uploads/abc");
  EXPECT_EQ(ResolveUrl(base, "https://storage.example/upload/1"), "https://storage.example/upload/1");
}

TEST(Url, Paths) {
  EXPECT_EQ(UrlPathOf("https://example.com/a/b.tar.gz?x=1#frag"), "/a/b.tar.gz");
  EXPECT_EQ(UrlPathOf("https://example.com"), "");
  EXPECT_EQ(UrlPathOf("https://example.com/"), "/");
  EXPECT_EQ(UrlPathOf("http://h/repo.git"), "/repo.git");
}

}  // namespace
}  // namespace imgbuild::layers::registry
