// Byte strings in JSON: UTF-8 text unchanged, every other byte string round-trips losslessly.
#include "layers/json_bytes.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace imgbuild::layers {
namespace {

TEST(JsonBytesTest, Utf8TextIsStoredAsItIs) {
  for (std::string s : {"", "plain", "F\xc5\x91", "e\xcc\x81", "\xf0\x9f\x98\x80 emoji"}) {
    EXPECT_TRUE(IsValidUtf8(s)) << s;
    EXPECT_EQ(BytesToJsonString(s), s);
    EXPECT_EQ(BytesFromJsonString(s), s);
  }
}

TEST(JsonBytesTest, OtherBytesRoundTripThroughJson) {
  const std::string cases[] = {"lat\xf5n", std::string("\0lead", 5), std::string("\0", 1), "\xff", "\xc3",
                               "\xed\xa0\x80" /* a surrogate */, "\xc0\xaf" /* overlong */,
                               "\xf4\x90\x80\x80" /* above U+10FFFF */, "ab\xe9", "abcd\xe9"};
  for (const std::string& s : cases) {
    EXPECT_FALSE(IsValidUtf8(s) && s[0] != '\0') << s;
    std::string encoded = BytesToJsonString(s);
    std::string text = nlohmann::json(encoded).dump();  // never throws: the encoded form is UTF-8
    EXPECT_EQ(BytesFromJsonString(nlohmann::json::parse(text).get<std::string>()), s);
  }
  // Two byte strings never share an encoding.
  EXPECT_NE(BytesToJsonString("\xe9"), BytesToJsonString("\xe8"));
}

TEST(JsonBytesTest, BadBase64IsAnError) {
  EXPECT_THROW(BytesFromJsonString(std::string("\0abc", 4) + "!"), std::runtime_error);
}

}  // namespace
}  // namespace imgbuild::layers
