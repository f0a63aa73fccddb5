// The parser: directives, comments, continuations, forms, heredocs, as BuildKit parses them.
#include "frontend/parser.h"

#include <gtest/gtest.h>

namespace imgbuild::frontend {
namespace {

ast::File P(const std::string& text) { return Parse(text, "Buildfile"); }

std::string ErrorOf(const std::string& text) {
  try {
    P(text);
  } catch (const ParseError& e) {
    return e.what();
  }
  return "no error";
}

TEST(Parser, KeywordsAreCaseInsensitive) {
  ast::File f = P("from alpine\nRuN echo hi\n");
  ASSERT_EQ(f.nodes.size(), 2u);
  EXPECT_EQ(f.nodes[0].keyword, "FROM");
  EXPECT_EQ(f.nodes[1].keyword, "RUN");
  EXPECT_EQ(f.nodes[1].keyword_raw, "RuN");
}

TEST(Parser, Directives) {
  ast::File f = P("# syntax=docker/dockerfile:1\n#ESCAPE = `\n# check=skip=JSONArgsRecommended;error=true\nFROM a\n");
  EXPECT_EQ(f.directives.syntax, "docker/dockerfile:1");
  EXPECT_EQ(f.directives.escape, '`');
  EXPECT_EQ(f.directives.check_config.skip, std::vector<std::string>{"JSONArgsRecommended"});
  EXPECT_TRUE(f.directives.check_config.error);
}

TEST(Parser, DirectivesOnlyAtTheTop) {
  // After a comment, a blank line or an unknown directive, directives are plain comments.
  EXPECT_EQ(P("# hello\n# escape=`\nFROM a\n").directives.escape, '\\');
  EXPECT_EQ(P("\n# escape=`\nFROM a\n").directives.escape, '\\');
  EXPECT_EQ(P("# unknown=1\n# escape=`\nFROM a\n").directives.escape, '\\');
  EXPECT_EQ(P("FROM a\n# escape=`\n").directives.escape, '\\');
  EXPECT_FALSE(P("# syntax = x\nFROM a\n# syntax=y\n").directives.syntax != "x");
}

TEST(Parser, DirectiveErrors) {
  EXPECT_EQ(ErrorOf("# escape=\\\n# escape=`\nFROM a\n"),
            "Buildfile:2:1: only one escape parser directive can be used\n 2 | # escape=`\n   | ^");
  EXPECT_NE(ErrorOf("# escape=x\nFROM a\n").find("invalid escape token 'x'"), std::string::npos);
}

TEST(Parser, CommentsAndContinuations) {
  ast::File f = P(
      "FROM a\n"
      "RUN apt-get update \\\n"
      "    # a comment in the middle\n"
      "  && apt-get install -y x \\   \n"
      "\n"
      "  && rm -rf /var/lib/apt/lists/*\n"
      "# trailing comment\n");
  ASSERT_EQ(f.nodes.size(), 2u);
  const ast::Node& run = f.nodes[1];
  EXPECT_EQ(run.args, std::vector<std::string>{"apt-get update   && apt-get install -y x   && rm -rf /var/lib/apt/lists/*"});
  EXPECT_EQ(run.location.line, 2);
  EXPECT_EQ(run.end_line, 6);
  EXPECT_TRUE(run.empty_continuation);
}

TEST(Parser, CrlfBomAndNoFinalNewline) {
  ast::File f = P("\xEF\xBB\xBF# syntax=x\r\nFROM a\r\nRUN echo a \\\r\n  b\r\nCMD [\"x\"]");
  EXPECT_EQ(f.directives.syntax, "x");
  ASSERT_EQ(f.nodes.size(), 3u);
  EXPECT_EQ(f.nodes[1].args[0], "echo a   b");
  EXPECT_EQ(f.nodes[2].args, std::vector<std::string>{"x"});
}

TEST(Parser, BacktickEscape) {
  ast::File f = P("# escape=`\nFROM mcr.microsoft.com/windows/servercore\nRUN dir c:\\ `\n  && echo done\n");
  EXPECT_EQ(f.nodes[1].args[0], "dir c:\\   && echo done");
}

TEST(Parser, ExecAndShellForms) {
  ast::File f = P("FROM a\nRUN [\"echo\", \"a b\", \"\\u00e9\\n\"]\nCMD [not json\nENTRYPOINT [\"x\"] trailing\nCOPY [\"a b\", \"/c d/\"]\nVOLUME /a /b\n");
  EXPECT_TRUE(f.nodes[1].json);
  EXPECT_EQ(f.nodes[1].args, (std::vector<std::string>{"echo", "a b", "\xC3\xA9\n"}));
  EXPECT_FALSE(f.nodes[2].json);
  EXPECT_EQ(f.nodes[2].args, std::vector<std::string>{"[not json"});
  EXPECT_FALSE(f.nodes[3].json);
  EXPECT_TRUE(f.nodes[4].json);
  EXPECT_EQ(f.nodes[4].args, (std::vector<std::string>{"a b", "/c d/"}));
  EXPECT_EQ(f.nodes[5].args, (std::vector<std::string>{"/a", "/b"}));
}

TEST(Parser, JsonArrayOfNonStringsIsAnError) {
  EXPECT_EQ(ErrorOf("FROM a\nCMD [\"a\", 1]\n"),
            "Buildfile:2:5: the exec (JSON) form of CMD must be an array of strings only\n"
            " 2 | CMD [\"a\", 1]\n"
            "   |     ^");
}

TEST(Parser, Flags) {
  ast::File f = P("FROM a\nCOPY --chown=1:2 --chmod=\"0755\" --link --from=x a b\nRUN --mount=type=cache,target=/c --mount=type=tmpfs,target=/t -- echo --not-a-flag\n");
  const auto& copy = f.nodes[1];
  ASSERT_EQ(copy.flags.size(), 4u);
  EXPECT_EQ(copy.flags[1].name, "chmod");
  EXPECT_EQ(copy.flags[1].value, "0755");  // quotes are removed from flags
  EXPECT_FALSE(copy.flags[2].value.has_value());
  EXPECT_EQ(copy.flags[2].location.column, 33);
  EXPECT_EQ(copy.args, (std::vector<std::string>{"a", "b"}));
  const auto& run = f.nodes[2];
  EXPECT_EQ(run.flags.size(), 2u);
  EXPECT_EQ(run.args[0], "echo --not-a-flag");
}

TEST(Parser, EnvForms) {
  ast::File f = P("FROM a\nENV a=1 b=\"x y\" c=z\\ w\nENV legacy  the rest of the line\nLABEL \"com.x\"=\"v\"\n");
  ASSERT_EQ(f.nodes[1].pairs.size(), 3u);
  EXPECT_EQ(f.nodes[1].pairs[1].value, "\"x y\"");
  EXPECT_EQ(f.nodes[1].pairs[2].value, "z\\ w");
  EXPECT_TRUE(f.nodes[2].legacy_key_value);
  EXPECT_EQ(f.nodes[2].pairs[0].key, "legacy");
  EXPECT_EQ(f.nodes[2].pairs[0].value, "the rest of the line");
  EXPECT_EQ(f.nodes[3].pairs[0].key, "\"com.x\"");
  EXPECT_NE(ErrorOf("FROM a\nENV a=1 b\n").find("can't find = in \"b\""), std::string::npos);
  EXPECT_NE(ErrorOf("FROM a\nENV onlykey\n").find("ENV needs a value"), std::string::npos);
}

TEST(Parser, ArgWords) {
  ast::File f = P("ARG a b=2 c=\"x y\"\nFROM a\n");
  EXPECT_EQ(f.nodes[0].args, (std::vector<std::string>{"a", "b=2", "c=\"x y\""}));
}

TEST(Parser, Heredocs) {
  ast::File f = P(
      "FROM a\n"
      "RUN <<EOF\n"
      "#!/usr/bin/env python3\n"
      "print('hi')\n"
      "EOF\n"
      "RUN <<-'ONE' cat - && cat <<TWO\n"
      "\t\tindented $x\n"
      "\tONE\n"
      "two\n"
      "TWO\n"
      "COPY <<A <<\"B\" /dest/\n"
      "a\n"
      "A\n"
      "b $y\n"
      "B\n");
  ASSERT_EQ(f.nodes.size(), 4u);
  ASSERT_EQ(f.nodes[1].heredocs.size(), 1u);
  EXPECT_EQ(f.nodes[1].heredocs[0].content, "#!/usr/bin/env python3\nprint('hi')\n");
  EXPECT_EQ(f.nodes[1].end_line, 5);
  const auto& two = f.nodes[2].heredocs;
  ASSERT_EQ(two.size(), 2u);
  EXPECT_EQ(two[0].name, "ONE");
  EXPECT_TRUE(two[0].strip_tabs);
  EXPECT_FALSE(two[0].expand);
  EXPECT_EQ(two[0].content, "indented $x\n");
  EXPECT_EQ(two[1].content, "two\n");
  EXPECT_TRUE(two[1].expand);
  const auto& copy = f.nodes[3];
  ASSERT_EQ(copy.heredocs.size(), 2u);
  EXPECT_FALSE(copy.heredocs[1].expand);
  EXPECT_EQ(copy.args, (std::vector<std::string>{"<<A", "<<\"B\"", "/dest/"}));
}

TEST(Parser, HeredocMarkersInQuotesAreNotHeredocs) {
  ast::File f = P("FROM a\nRUN echo \"<<EOF\" && echo '<<X'\nRUN echo ok\n");
  EXPECT_TRUE(f.nodes[1].heredocs.empty());
  EXPECT_EQ(f.nodes.size(), 3u);
}

TEST(Parser, HeredocsOnlyInRunCopyAdd) {
  ast::File f = P("FROM a\nLABEL x=<<EOF\nRUN echo\n");
  EXPECT_EQ(f.nodes.size(), 3u);
  EXPECT_TRUE(f.nodes[1].heredocs.empty());
}

TEST(Parser, UnterminatedHeredoc) {
  EXPECT_EQ(ErrorOf("FROM a\nRUN <<EOF\necho\n"),
            "Buildfile:2:1: unterminated heredoc: no line \"EOF\" closes the heredoc started here\n"
            " 2 | RUN <<EOF\n"
            "   | ^");
}

TEST(Parser, OnbuildHoldsItsTrigger) {
  ast::File f = P("FROM a\nONBUILD RUN <<EOF\necho hi\nEOF\n");
  ASSERT_TRUE(f.nodes[1].inner);
  EXPECT_EQ(f.nodes[1].inner->keyword, "RUN");
  ASSERT_EQ(f.nodes[1].inner->heredocs.size(), 1u);
  EXPECT_EQ(f.nodes[1].inner->heredocs[0].content, "echo hi\n");
}

TEST(Parser, HealthcheckSplitsType) {
  ast::File f = P("FROM a\nHEALTHCHECK --retries=3 CMD [\"curl\", \"-f\", \"x\"]\nHEALTHCHECK NONE\n");
  EXPECT_EQ(f.nodes[1].args, (std::vector<std::string>{"CMD", "curl", "-f", "x"}));
  EXPECT_TRUE(f.nodes[1].json);
  EXPECT_EQ(f.nodes[2].args, std::vector<std::string>{"NONE"});
}

TEST(Parser, EmptyFile) {
  EXPECT_EQ(ErrorOf(""), "Buildfile: the Buildfile has no instructions (it needs at least a FROM)");
  EXPECT_NE(ErrorOf("# just a comment\n\n").find("has no instructions"), std::string::npos);
}

TEST(Parser, CaretCountsCharactersNotBytes) {
  std::string e = ErrorOf("FROM a\nCMD [\"\xC3\xA9\", 2]\n");
  EXPECT_NE(e.find("Buildfile:2:5:"), std::string::npos) << e;
}

TEST(Parser, LocationsInsideContinuations) {
  ast::File f = P("FROM a\nCOPY \\\n  --chown=1 \\\n  --bogus=2 a b\n");
  EXPECT_EQ(f.nodes[1].flags[1].location.line, 4);
  EXPECT_EQ(f.nodes[1].flags[1].location.column, 3);
}

}  // namespace
}  // namespace imgbuild::frontend

namespace imgbuild::frontend {
namespace {

// BuildKit's continuation rule: an escape that follows another escape is escaped, not a
// continuation (`ENV C trailing\\backslash\\` is one line); one alone on its line continues.
TEST(Parser, EscapedTrailingEscapeIsNoContinuation) {
  ast::File f = Parse("FROM scratch\nENV C trailing\\\\backslash\\\\\nLABEL x=y\n", "Buildfile");
  ASSERT_EQ(f.nodes.size(), 3u);
  EXPECT_EQ(f.nodes[1].original, "ENV C trailing\\\\backslash\\\\");
  ast::File g = Parse("FROM scratch\nRUN a \\\n\\\n b\n", "Buildfile");
  ASSERT_EQ(g.nodes.size(), 2u);
}

}  // namespace
}  // namespace imgbuild::frontend
