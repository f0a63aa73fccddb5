// Shell expansion beyond the BuildKit vectors: pattern modifiers, the backtick escape, modes and
// the record of variables read.
#include "frontend/shell/lexer.h"

#include <gtest/gtest.h>

namespace imgbuild::frontend::shell {
namespace {

Lookup Env() {
  return LookupFromEnvList({"PATH=/usr/local/bin:/usr/bin:/bin", "FILE=archive.tar.gz", "EMPTY=",
                            "V=1.2.3", "KO=\xEC\x95\x88\xEB\x85\x95\xED\x95\x98\xEC\x84\xB8\xEC\x9A\x94",
                            "SPACED=a  b"});
}

struct Case {
  const char* input;
  const char* expected;  // nullptr: must fail
};

TEST(Shell, PatternModifiers) {
  const Case cases[] = {
      {"${FILE#*.}", "tar.gz"},
      {"${FILE##*.}", "gz"},
      {"${FILE%.*}", "archive.tar"},
      {"${FILE%%.*}", "archive"},
      {"${PATH#*:}", "/usr/bin:/bin"},
      {"${PATH##*:}", "/bin"},
      {"${PATH%:*}", "/usr/local/bin:/usr/bin"},
      {"${PATH%%:*}", "/usr/local/bin"},
      {"${FILE#nomatch}", "archive.tar.gz"},
      {"${FILE#archive}", ".tar.gz"},
      {"${FILE#arch?ve}", ".tar.gz"},
      {"${V/./-}", "1-2.3"},
      {"${V//./-}", "1-2-3"},
      {"${V//[0-9]/x}", "1.2.3"},  // no bracket classes: [ is literal
      {"${PATH//\\/usr/}", "/local/bin:/bin:/bin"},
      {"${V//\\//x}", "1.2.3"},
      {"${FILE/*./X}", "Xgz"},
      {"${UNSET#x}", ""},
      {"${UNSET/a/b}", ""},
      {"${V/1/}", ".2.3"},
      {"${KO#\xEC\x95\x88}", "\xEB\x85\x95\xED\x95\x98\xEC\x84\xB8\xEC\x9A\x94"},
      {"${KO%?}", "\xEC\x95\x88\xEB\x85\x95\xED\x95\x98\xEC\x84\xB8"},
      {"${V:#x}", nullptr},
      {"${V:%x}", nullptr},
      {"${V/x", nullptr},
      {"${V#\\q}", nullptr},
      {"${V#x", nullptr},
  };
  for (const Case& c : cases) {
    if (c.expected) {
      EXPECT_EQ(ExpandWord(c.input, Env()), c.expected) << c.input;
    } else {
      EXPECT_THROW(ExpandWord(c.input, Env()), ExpandError) << c.input;
    }
  }
}

TEST(Shell, ColonlessModifiersTreatEmptyAsSet) {
  EXPECT_EQ(ExpandWord("${EMPTY-def}", Env()), "");
  EXPECT_EQ(ExpandWord("${EMPTY:-def}", Env()), "def");
  EXPECT_EQ(ExpandWord("${EMPTY+alt}", Env()), "alt");
  EXPECT_EQ(ExpandWord("${EMPTY:+alt}", Env()), "");
  EXPECT_EQ(ExpandWord("${UNSET-def}", Env()), "def");
  EXPECT_EQ(ExpandWord("${UNSET+alt}", Env()), "");
  EXPECT_THROW(ExpandWord("${UNSET?custom message}", Env()), ExpandError);
  try {
    ExpandWord("${UNSET:?need it}", Env());
  } catch (const ExpandError& e) {
    EXPECT_NE(std::string(e.what()).find("UNSET: need it"), std::string::npos) << e.what();
  }
}

TEST(Shell, BacktickEscape) {
  const char b = '`';
  EXPECT_EQ(ExpandWord("C:\\path\\to", Env(), b), "C:\\path\\to");  // backslash is literal
  EXPECT_EQ(ExpandWord("a`$V", Env(), b), "a$V");
  EXPECT_EQ(ExpandWord("a``b", Env(), b), "a`b");
  EXPECT_EQ(ExpandWord("\"x`\"y\"", Env(), b), "x\"y");
  EXPECT_EQ(ExpandWord("\"x\\\"", Env(), b), "x\\");
  EXPECT_EQ(ExpandWord("$V`", Env(), b), "1.2.3");
  EXPECT_EQ(ExpandWords("a` b c", Env(), b), (std::vector<std::string>{"a b", "c"}));
}

TEST(Shell, WordsFromUnquotedExpansionSplit) {
  EXPECT_EQ(ExpandWords("x${SPACED}y \"$SPACED\"", Env()),
            (std::vector<std::string>{"xa", "by", "a  b"}));
  EXPECT_TRUE(ExpandWords("\"\"", Env()).empty());
}

TEST(Shell, ReportsVariablesRead) {
  Expansion e = Expand("$V ${UNSET:-$PATH} '$NOT' \"$EMPTY\"", Env());
  EXPECT_EQ(e.matched, (std::set<std::string>{"EMPTY", "PATH", "V"}));
  EXPECT_EQ(e.unmatched, (std::set<std::string>{"UNSET"}));
}

TEST(Shell, RawModesKeepQuotesEscapesAndUnset) {
  LexOptions o;
  o.raw_quotes = true;
  o.raw_escapes = true;
  o.skip_unset = true;
  EXPECT_EQ(Expand("'a' \"b\" \\c $UNSET ${UNSET:-x}", Env(), o).word, "'a' \"b\" \\c $UNSET ${UNSET:-x}");
}

}  // namespace
}  // namespace imgbuild::frontend::shell
