#include "cache/cache_key.h"

#include <gtest/gtest.h>

namespace imgbuild::cache {
namespace {

TEST(CacheKey, SameFieldsSameKey) {
  CacheKey a = KeyBuilder("run").Field("argv", std::vector<std::string>{"sh", "-c", "x"}).Build();
  CacheKey b = KeyBuilder("run").Field("argv", std::vector<std::string>{"sh", "-c", "x"}).Build();
  EXPECT_EQ(a, b);
}

TEST(CacheKey, FieldBoundariesAreHashed) {
  EXPECT_NE(KeyBuilder("run").Field("a", "bc").Build(), KeyBuilder("run").Field("ab", "c").Build());
  EXPECT_NE(KeyBuilder("run").Field("argv", std::vector<std::string>{"ab", "c"}).Build(),
            KeyBuilder("run").Field("argv", std::vector<std::string>{"a", "bc"}).Build());
}

TEST(CacheKey, KindsAreSeparateDomains) {
  EXPECT_NE(KeyBuilder("run").Field("x", "1").Build(), KeyBuilder("copy").Field("x", "1").Build());
}

TEST(CacheKey, ParentChangesKey) {
  CacheKey p1 = KeyBuilder("from").Field("ref", "a").Build();
  CacheKey p2 = KeyBuilder("from").Field("ref", "b").Build();
  EXPECT_NE(KeyBuilder("run").Parent(p1).Build(), KeyBuilder("run").Parent(p2).Build());
}

}  // namespace
}  // namespace imgbuild::cache
