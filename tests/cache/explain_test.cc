// Explanations of cache misses: which field changed, which input files, what was added/removed.
#include "cache/explain.h"

#include <gtest/gtest.h>

namespace imgbuild::cache {
namespace {

TEST(ExplainTest, FieldsAndFiles) {
  Fields now = {{"env VERSION", "1.3"}, {"command", "make"}, {"content", "sha256:b"}};
  Fields files = {{"src/main.c", "2"}, {"src/new.c", "3"}};
  EXPECT_EQ(ExplainFields(now, files, {{"env VERSION", "1.2"}, {"command", "make"}, {"content", "sha256:b"}}, {}),
            "env VERSION changed 1.2 -> 1.3");
  EXPECT_EQ(ExplainFields(now, files, {{"env VERSION", "1.3"}, {"command", "make"}, {"content", "sha256:a"}},
                          {{"src/main.c", "1"}, {"src/old.c", "9"}}),
            "content of src/main.c changed; src/new.c added; src/old.c removed");
  EXPECT_EQ(ExplainFields(now, files, {{"command", "make"}, {"content", "sha256:b"}, {"user", "app"}}, {}),
            "env VERSION added (1.3); user removed (was app)");
  // Long values are shortened; many changed files are counted.
  std::string long_value(100, 'x');
  EXPECT_EQ(ExplainFields({{"label a", long_value}}, {}, {{"label a", "y"}}, {}),
            "label a changed y -> " + std::string(45, 'x') + "...");
  Fields many, before;
  for (int i = 0; i < 5; ++i) many.push_back({"f" + std::to_string(i), "1"});
  EXPECT_EQ(ExplainFields({{"content", "b"}}, many, {{"content", "a"}}, before),
            "f0 added; f1 added; f2 added; and 2 more files");
}

}  // namespace
}  // namespace imgbuild::cache
