// Failures in imgbuild's words: no library tags or bare conversion names reach the user.
#include "builder/cli/user_message.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace imgbuild::builder {
namespace {

TEST(UserMessage, LibraryWordingIsRewritten) {
  try {
    nlohmann::json j = nlohmann::json::object();
    (void)j.at("mediaType");
    FAIL();
  } catch (const std::exception& e) {
    EXPECT_EQ(UserMessage(e), "a malformed or unexpected JSON document (key 'mediaType' not found)");
  }
  try {
    (void)std::stod("abc");
    FAIL();
  } catch (const std::exception& e) {
    EXPECT_EQ(UserMessage(e), "a value that should be a number is not one");
  }
  EXPECT_EQ(UserMessage(std::runtime_error("invalid descriptor: [json.exception.out_of_range.403] key 'size' not found")),
            "invalid descriptor: key 'size' not found");
  EXPECT_EQ(UserMessage(std::runtime_error("no image x")), "no image x");
}

}  // namespace
}  // namespace imgbuild::builder
