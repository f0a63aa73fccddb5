// .dockerignore matching with moby/patternmatcher semantics.
#include "frontend/dockerignore.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace imgbuild::frontend {
namespace {

bool Ex(const std::string& patterns, const std::string& path) {
  return IgnoreMatcher(ReadIgnoreFile(patterns)).Excluded(path);
}

TEST(Dockerignore, ReadCleansPatterns) {
  EXPECT_EQ(ReadIgnoreFile("\xEF\xBB\xBF# comment\n  node_modules/  \n\n/abs\n./dot/../x\n! keep.txt\n!/root.md\r\n"),
            (std::vector<std::string>{"node_modules", "abs", "x", "!keep.txt", "!root.md"}));
}

TEST(Dockerignore, GlobBasics) {
  EXPECT_TRUE(Ex("*.md", "README.md"));
  EXPECT_FALSE(Ex("*.md", "docs/README.md"));  // * does not cross /
  EXPECT_TRUE(Ex("*/*.md", "docs/README.md"));
  EXPECT_TRUE(Ex("?.txt", "a.txt"));
  EXPECT_FALSE(Ex("?.txt", "ab.txt"));
  EXPECT_TRUE(Ex("[a-c].txt", "b.txt"));
  EXPECT_FALSE(Ex("[a-c].txt", "d.txt"));
  EXPECT_TRUE(Ex("[^a-c].txt", "d.txt"));
  EXPECT_TRUE(Ex("\\*.txt", "*.txt"));
  EXPECT_FALSE(Ex("\\*.txt", "a.txt"));
}

// Names are bytes, matched as Go's regexp matches them: `?` takes one UTF-8 character (however many
// bytes), or one byte of a name that is not UTF-8; literal bytes match themselves exactly.
TEST(Dockerignore, NonAsciiNames) {
  EXPECT_TRUE(Ex("F?", "F\xc5\x91"));
  EXPECT_FALSE(Ex("F??", "F\xc5\x91"));
  EXPECT_TRUE(Ex("lat?n", "lat\xf5n"));
  EXPECT_TRUE(Ex("lat\xf5n", "lat\xf5n"));
  EXPECT_FALSE(Ex("lat\xf5n", "lat\xf6n"));
  EXPECT_TRUE(Ex("\xc3\xa9", "\xc3\xa9"));
  EXPECT_FALSE(Ex("\xc3\xa9", "e\xcc\x81"));  // NFC and NFD spellings are different names
  EXPECT_TRUE(Ex("[\xc3\xa0-\xc3\xbf].txt", "\xc3\xa9.txt"));
  EXPECT_TRUE(Ex("d\xe9/*", "d\xe9/x"));
}

TEST(Dockerignore, DirectoriesMatchEverythingBelow) {
  EXPECT_TRUE(Ex("node_modules", "node_modules/a/b.js"));
  EXPECT_TRUE(Ex("build/", "build/out.o"));
  EXPECT_FALSE(Ex("build", "src/build/out.o"));  // anchored at the context root
  EXPECT_TRUE(Ex("*/build", "src/build/out.o"));
}

TEST(Dockerignore, DoubleStar) {
  EXPECT_TRUE(Ex("**/*.log", "a.log"));
  EXPECT_TRUE(Ex("**/*.log", "x/y/z.log"));
  EXPECT_TRUE(Ex("**/build", "deep/er/build/file"));
  EXPECT_TRUE(Ex("docs/**/*.md", "docs/a/b/c.md"));
  EXPECT_TRUE(Ex("docs/**/*.md", "docs/c.md"));
  EXPECT_FALSE(Ex("docs/**/*.md", "other/c.md"));
  EXPECT_TRUE(Ex("**", "anything/at/all"));
  EXPECT_TRUE(Ex("abc/**", "abc/d"));
  EXPECT_FALSE(Ex("abc/**", "abcd"));
}

TEST(Dockerignore, ExceptionsAndLastMatchWins) {
  const std::string p = "*.md\n!README.md\n";
  EXPECT_TRUE(Ex(p, "CHANGES.md"));
  EXPECT_FALSE(Ex(p, "README.md"));
  EXPECT_TRUE(Ex("!README.md\n*.md\n", "README.md"));  // the later pattern wins
  const std::string dir = "docs\n!docs/keep\n";
  EXPECT_TRUE(Ex(dir, "docs/other.txt"));
  EXPECT_FALSE(Ex(dir, "docs/keep"));
  EXPECT_FALSE(Ex(dir, "docs/keep/inner.txt"));
  EXPECT_TRUE(IgnoreMatcher(ReadIgnoreFile(dir)).HasExceptions());
  EXPECT_FALSE(Ex("*\n!src\n", "src/main.c"));
  EXPECT_TRUE(Ex("*\n!src\nsrc/*.o\n", "src/main.o"));
}

TEST(Dockerignore, PathsAreCleaned) {
  EXPECT_TRUE(Ex("a/b", "./a/b"));
  EXPECT_TRUE(Ex("a/b", "a//b"));
  EXPECT_TRUE(Ex("/a", "a"));
}

TEST(Dockerignore, UnicodeAndBadPatterns) {
  EXPECT_TRUE(Ex("\xED\x95\x9C?.txt", "\xED\x95\x9C\xEA\xB5\xAD.txt"));
  EXPECT_THROW(IgnoreMatcher({"[abc"}), IgnorePatternError);
  // A lone "!" excepts nothing: BuildKit's "illegal exclusion pattern" (testDockerignoreInvalid).
  EXPECT_THROW(IgnoreMatcher(ReadIgnoreFile("!\n")), IgnorePatternError);
}

TEST(Dockerignore, BuildfileSpecificIgnoreFileWins) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("imgbuild-ignore-" + std::to_string(::getpid()));
  fs::create_directories(dir / "ctx");
  std::ofstream(dir / "ctx" / ".dockerignore") << "a\n";
  std::string buildfile = (dir / "app.Buildfile").string();
  std::ofstream(buildfile) << "FROM a\n";
  EXPECT_EQ(FindIgnoreFile(buildfile, (dir / "ctx").string()), (dir / "ctx" / ".dockerignore").string());
  std::ofstream(buildfile + ".dockerignore") << "b\n";
  EXPECT_EQ(FindIgnoreFile(buildfile, (dir / "ctx").string()), buildfile + ".dockerignore");
  fs::remove(dir / "ctx" / ".dockerignore");
  fs::remove(buildfile + ".dockerignore");
  EXPECT_EQ(FindIgnoreFile(buildfile, (dir / "ctx").string()), std::nullopt);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace imgbuild::frontend
