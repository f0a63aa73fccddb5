// Go's renderings that BuildKit's history texts use: each case is what Go's fmt/strconv/time print.
#include "builder/ops/go_format.h"

#include <gtest/gtest.h>

namespace imgbuild::builder {
namespace {

TEST(GoFormat, DurationAsTimeDurationString) {
  EXPECT_EQ(GoDuration(0), "0s");
  EXPECT_EQ(GoDuration(5000000000), "5s");
  EXPECT_EQ(GoDuration(90000000000), "1m30s");
  EXPECT_EQ(GoDuration(3600000000000), "1h0m0s");
  EXPECT_EQ(GoDuration(1500000000), "1.5s");
  EXPECT_EQ(GoDuration(500000000), "500ms");
  EXPECT_EQ(GoDuration(2250000), "2.25ms");
  EXPECT_EQ(GoDuration(1000), "1µs");
  EXPECT_EQ(GoDuration(42), "42ns");
}

TEST(GoFormat, QuoteEscapesAsStrconv) {
  EXPECT_EQ(GoQuote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(GoQuote("tab\tnl\n\x01"), "\"tab\\tnl\\n\\x01\"");
  EXPECT_EQ(GoQuote("F\xc5\x91"), "\"F\xc5\x91\"");  // valid UTF-8 stays
  EXPECT_EQ(GoQuote("a\xf5"), "\"a\\xf5\"");         // a stray byte is \xNN
  EXPECT_EQ(GoQuotedList({"sh", "-c", "echo hi"}), "[\"sh\" \"-c\" \"echo hi\"]");
  EXPECT_EQ(GoList({"/bin/sh", "-c"}), "[/bin/sh -c]");
}

TEST(GoFormat, HealthcheckAsPercentQOfTheStruct) {
  layers::Healthcheck hc;
  hc.test = {"CMD-SHELL", "true"};
  hc.interval = 5000000000;
  EXPECT_EQ(GoHealthcheck(hc), "&{[\"CMD-SHELL\" \"true\"] \"5s\" \"0s\" \"0s\" \"0s\" '\\x00'}");
  hc.retries = 65;
  EXPECT_EQ(GoHealthcheck(hc), "&{[\"CMD-SHELL\" \"true\"] \"5s\" \"0s\" \"0s\" \"0s\" 'A'}");
}

}  // namespace
}  // namespace imgbuild::builder
