// The tty view's text: step output cleaned for one terminal line and measured in columns.
#include "builder/progress/terminal_text.h"

#include <gtest/gtest.h>

namespace imgbuild::builder {
namespace {

TEST(TerminalText, CleanLine) {
  EXPECT_EQ(CleanLine("plain"), "plain");
  EXPECT_EQ(CleanLine("a\tb"), "a       b");           // tabs to the next multiple of 8
  EXPECT_EQ(CleanLine("abcdefgh\tb"), "abcdefgh        b");
  EXPECT_EQ(CleanLine("日\tb"), "日      b");             // a wide character takes two columns
  EXPECT_EQ(CleanLine("10%\r50%\r100%\r"), "100%");    // the last state of a progress bar
  EXPECT_EQ(CleanLine("\x1b[31mred\x1b[0m \x1b[1;32mgreen\x1b[m"), "red green");
  EXPECT_EQ(CleanLine("\x1b]0;window title\x07text"), "text");
  EXPECT_EQ(CleanLine("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\"), "link");
  EXPECT_EQ(CleanLine("bell\x07 and \x01" "ctl"), "bell and ctl");
  EXPECT_EQ(CleanLine("bad \xff byte"), "bad \xEF\xBF\xBD byte");
  EXPECT_EQ(CleanLine("c1 \xC2\x9B controls"), "c1  controls");
  EXPECT_EQ(CleanLine("unterminated \x1b["), "unterminated ");
}

TEST(TerminalText, WidthAndFit) {
  EXPECT_EQ(DisplayWidth("abc"), 3u);
  EXPECT_EQ(DisplayWidth("日本語"), 6u);
  EXPECT_EQ(DisplayWidth("e\xCC\x81"), 1u);  // e + a combining accent
  EXPECT_EQ(DisplayWidth("…"), 1u);
  EXPECT_EQ(FitColumns("abcdef", 4), "abcd");
  EXPECT_EQ(FitColumns("日本語", 5), "日本");  // never half a wide character
  EXPECT_EQ(FitColumns("日本語", 6), "日本語");
  EXPECT_EQ(FitColumns("ab", 10), "ab");
  EXPECT_EQ(FitColumns("", 3), "");
}

}  // namespace
}  // namespace imgbuild::builder
