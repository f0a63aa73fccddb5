// Golden files under testdata/: the exact text of every Buildfile error (testdata/errors/X.err
// for X.Buildfile) and the `parse --json` document of representative Buildfiles
// (testdata/parse/X.json for X.Buildfile). IMGBUILD_UPDATE_GOLDEN=1 rewrites them; review the diff.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "frontend/ast_json.h"
#include "frontend/lower.h"
#include "frontend/parser.h"
#include "test_util.h"

namespace imgbuild::frontend {
namespace {

namespace fs = std::filesystem;
using imgbuild::testing::ReadSourceFile;
using imgbuild::testing::SourcePath;

bool Updating() { return std::getenv("IMGBUILD_UPDATE_GOLDEN") != nullptr; }

std::vector<std::string> Cases(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(SourcePath(dir))) {
    if (entry.path().extension() == ".Buildfile") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

void Compare(const std::string& golden_path, const std::string& actual) {
  if (Updating()) {
    std::ofstream(SourcePath(golden_path), std::ios::binary) << actual;
    return;
  }
  ASSERT_TRUE(imgbuild::testing::SourceFileExists(golden_path)) << "missing golden " << golden_path;
  EXPECT_EQ(actual, ReadSourceFile(golden_path)) << "golden " << golden_path;
}

TEST(Golden, ErrorTexts) {
  std::vector<std::string> cases = Cases("testdata/errors");
  ASSERT_GE(cases.size(), 40u);
  for (const std::string& name : cases) {
    SCOPED_TRACE(name);
    std::string text = ReadSourceFile("testdata/errors/" + name + ".Buildfile");
    std::string actual;
    try {
      ParseProgram(text, name + ".Buildfile");
      actual = "no error\n";
    } catch (const ParseError& e) {
      actual = std::string(e.what()) + "\n";
    }
    EXPECT_NE(actual, "no error\n");
    Compare("testdata/errors/" + name + ".err", actual);
  }
}

TEST(Golden, ParseJson) {
  std::vector<std::string> cases = Cases("testdata/parse");
  ASSERT_GE(cases.size(), 3u);
  for (const std::string& name : cases) {
    SCOPED_TRACE(name);
    std::string text = ReadSourceFile("testdata/parse/" + name + ".Buildfile");
    ast::File file = Parse(text, name + ".Buildfile");
    Program program = Lower(file);
    Compare("testdata/parse/" + name + ".json", ParseDocument(file, program).dump(2) + "\n");
  }
}

}  // namespace
}  // namespace imgbuild::frontend
