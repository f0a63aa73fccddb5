// Runs BuildKit's shell-lexer vectors from ../shared/conformance/shell (see the README there).
#include <gtest/gtest.h>

#include <map>

#include "frontend/shell/lexer.h"
#include <openssl/evp.h>
#include "test_util.h"

namespace imgbuild::frontend::shell {
namespace {

// sha256 of `text` in hex (OpenSSL directly: the frontend's tests link nothing of ours but it).
std::string Sha256Hex(const std::string& text) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), md, &len, EVP_sha256(), nullptr);
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

using imgbuild::testing::ReadSourceFile;

const char* kEnvVarTest = "../shared/conformance/shell/envVarTest";
const char* kWordsTest = "../shared/conformance/shell/wordsTest";

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
    pos = nl + 1;
  }
  return lines;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

// The NOTICE file lists the sha256 of each vector file; a changed file must not pass silently.
void CheckNotice(const std::string& name, const std::string& text) {
  std::string notice = ReadSourceFile("../shared/conformance/shell/NOTICE");
  std::string digest = Sha256Hex(text);
  EXPECT_NE(notice.find(digest), std::string::npos) << name << " does not match its sha256 in NOTICE";
}

Lookup MapLookup(const std::map<std::string, std::string>& env) {
  return [env](std::string_view name) -> std::optional<std::string> {
    auto it = env.find(std::string(name));
    if (it == env.end()) return std::nullopt;
    return it->second;
  };
}

TEST(ShellConformance, EnvVarTest) {
  std::string text = ReadSourceFile(kEnvVarTest);
  ASSERT_FALSE(text.empty()) << "missing " << kEnvVarTest;
  CheckNotice("envVarTest", text);
  Lookup env = MapLookup({{"PWD", "/home"}, {"SHELL", "bash"}, {"KOREAN", "\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4"}, {"NULL", ""}});
  int ran = 0, skipped_windows = 0;
  for (const std::string& line : Lines(text)) {
    if (line.empty() || line[0] == '#' || Trim(line).empty()) continue;
    size_t a = line.find('|'), b = line.find('|', a + 1);
    ASSERT_NE(b, std::string::npos) << "malformed: " << line;
    ASSERT_EQ(line.find('|', b + 1), std::string::npos) << "malformed: " << line;
    std::string platform = Trim(line.substr(0, a));
    std::string input = Trim(line.substr(a + 1, b - a - 1));
    std::string expected = Trim(line.substr(b + 1));
    if (platform == "W") {
      ++skipped_windows;
      continue;
    }
    ++ran;
    if (expected == "error") {
      EXPECT_THROW(ExpandWord(input, env), ExpandError) << "input: " << input;
    } else {
      try {
        EXPECT_EQ(ExpandWord(input, env), expected) << "input: " << input;
      } catch (const ExpandError& e) {
        ADD_FAILURE() << "input: " << input << " threw " << e.what();
      }
    }
  }
  EXPECT_EQ(ran, 228);
  EXPECT_EQ(skipped_windows, 2);
}

TEST(ShellConformance, WordsTest) {
  std::string text = ReadSourceFile(kWordsTest);
  ASSERT_FALSE(text.empty()) << "missing " << kWordsTest;
  CheckNotice("wordsTest", text);
  std::map<std::string, std::string> env;
  int ran = 0;
  for (const std::string& line : Lines(text)) {
    if (!line.empty() && line[0] == '#') continue;
    if (line.rfind("ENV ", 0) == 0) {
      std::string rest = line.substr(3);
      rest.erase(0, rest.find_first_not_of(' '));
      size_t eq = rest.find('=');
      env[rest.substr(0, eq)] = rest.substr(eq + 1);
      continue;
    }
    size_t bar = line.find('|');
    ASSERT_NE(bar, std::string::npos) << "malformed: " << line;
    std::string input = Trim(line.substr(0, bar));
    std::string right = line.substr(bar + 1);
    right.erase(0, right.find_first_not_of(' ') == std::string::npos ? right.size() : right.find_first_not_of(' '));
    std::vector<std::string> expected;
    size_t pos = 0;
    for (;;) {
      size_t comma = right.find(',', pos);
      expected.push_back(right.substr(pos, comma - pos));
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
    ++ran;
    std::vector<std::string> got;
    try {
      got = ExpandWords(input, MapLookup(env));
    } catch (const ExpandError&) {
      got = {"error"};
    }
    EXPECT_EQ(got, expected) << "input: " << input;
  }
  EXPECT_EQ(ran, 24);
}

}  // namespace
}  // namespace imgbuild::frontend::shell
