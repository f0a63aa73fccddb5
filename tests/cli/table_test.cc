// Docker's listing helpers: tabwriter layout, go-units sizes and durations, RFC 3339 times.
#include "builder/cli/table.h"

#include <gtest/gtest.h>

namespace imgbuild::builder {
namespace {

TEST(Table, LaysOutAsDockersTabwriter) {
  EXPECT_EQ(Tabulate({{"REPOSITORY", "TAG", "IMAGE ID", "SIZE"}, {"busybox", "latest", "a416a98b71e2", "4.26MB"}}),
            "REPOSITORY   TAG       IMAGE ID       SIZE\n"
            "busybox      latest    a416a98b71e2   4.26MB\n");
  // Wide characters count once per character, not per byte.
  EXPECT_EQ(Tabulate({{"Fő", "x"}, {"abcdefghijk", "y"}}), "Fő            x\nabcdefghijk   y\n");
}

TEST(Table, HumanSizeIsDecimalWithThreeDigits) {
  EXPECT_EQ(HumanSize(0), "0B");
  EXPECT_EQ(HumanSize(512), "512B");
  EXPECT_EQ(HumanSize(1000), "1kB");
  EXPECT_EQ(HumanSize(2129385), "2.13MB");
  EXPECT_EQ(HumanSize(4261550), "4.26MB");
  EXPECT_EQ(HumanSize(1.5e9), "1.5GB");
}

TEST(Table, HumanDurationAsGoUnits) {
  EXPECT_EQ(HumanDuration(0.5), "Less than a second");
  EXPECT_EQ(HumanDuration(1), "1 second");
  EXPECT_EQ(HumanDuration(59), "59 seconds");
  EXPECT_EQ(HumanDuration(60), "About a minute");
  EXPECT_EQ(HumanDuration(59 * 60), "59 minutes");
  EXPECT_EQ(HumanDuration(3600), "About an hour");
  EXPECT_EQ(HumanDuration(47 * 3600), "47 hours");
  EXPECT_EQ(HumanDuration(3 * 86400), "3 days");
  EXPECT_EQ(HumanDuration(20 * 86400), "2 weeks");
  EXPECT_EQ(HumanDuration(90 * 86400), "3 months");
  EXPECT_EQ(HumanDuration(3 * 365 * 86400.0), "3 years");
}

TEST(Table, Rfc3339) {
  EXPECT_EQ(ParseRfc3339("2023-11-14T22:13:20Z"), 1700000000);
  EXPECT_EQ(ParseRfc3339("2023-11-14T22:13:20.123456789Z"), 1700000000);
  EXPECT_EQ(ParseRfc3339("2023-11-15T00:13:20+02:00"), 1700000000);
  EXPECT_EQ(ParseRfc3339("yesterday"), -1);
  EXPECT_EQ(ParseRfc3339(""), -1);
  EXPECT_EQ(GoTime(1700000000), "2023-11-14 22:13:20 +0000 UTC");
}

}  // namespace
}  // namespace imgbuild::builder
