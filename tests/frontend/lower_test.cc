// Lowering to typed instructions, and the build-check warnings.
#include "frontend/lower.h"

#include <gtest/gtest.h>

namespace imgbuild::frontend {
namespace {

Program L(const std::string& text) { return ParseProgram(text, "Buildfile"); }

std::vector<std::string> Rules(const Program& p) {
  std::vector<std::string> rules;
  for (const Warning& w : p.warnings) rules.push_back(w.rule + "@" + std::to_string(w.location.line));
  return rules;
}

TEST(Lower, TypedInstructions) {
  Program p = L(
      "ARG A B=2\n"
      "FROM alpine AS Base\n"
      "RUN --network=none --mount=type=cache,target=/c echo\n"
      "COPY --chown=u:g --chmod=644 --link <<EOF a b /dst/\nhi\nEOF\n"
      "ADD --unpack=true --checksum=sha256:24454f830cdb571e2c4ad15481119c43b3cafd48dd869a9b2945d1036d1dc68d https://x/y.tgz /\n"
      "HEALTHCHECK --interval=1m30s --timeout=500ms --retries=2 CMD curl x\n"
      "ONBUILD RUN echo later\n");
  ASSERT_EQ(p.meta_args.size(), 2u);
  EXPECT_FALSE(p.meta_args[0].decl.default_value);
  EXPECT_EQ(p.meta_args[1].decl.default_value, "2");
  ASSERT_EQ(p.stages.size(), 1u);
  EXPECT_EQ(p.stages[0].name, "base");
  const auto& is = p.stages[0].instructions;
  const auto& run = std::get<RunInstr>(is[0].op);
  EXPECT_EQ(run.network, "none");
  ASSERT_EQ(run.mount_specs.size(), 1u);
  EXPECT_EQ(run.mount_specs[0].type, MountType::kCache);
  EXPECT_FALSE(run.mount_specs[0].read_only);
  const auto& copy = std::get<CopyInstr>(is[1].op);
  ASSERT_EQ(copy.sources.size(), 3u);
  ASSERT_TRUE(copy.sources[0].heredoc);
  EXPECT_EQ(copy.sources[0].heredoc->content, "hi\n");
  EXPECT_EQ(copy.dest, "/dst/");
  EXPECT_TRUE(copy.link);
  const auto& add = std::get<CopyInstr>(is[2].op);
  EXPECT_TRUE(add.is_add);
  EXPECT_EQ(add.unpack, true);
  const auto& hc = std::get<HealthcheckInstr>(is[3].op);
  EXPECT_EQ(hc.test, (std::vector<std::string>{"CMD-SHELL", "curl x"}));
  EXPECT_EQ(hc.interval_ns, 90'000'000'000LL);
  EXPECT_EQ(hc.timeout_ns, 500'000'000LL);
  EXPECT_EQ(hc.retries, 2);
  const auto& ob = std::get<OnbuildInstr>(is[4].op);
  EXPECT_EQ(ob.expression, "RUN echo later");
  EXPECT_EQ(ob.trigger->keyword, "RUN");
}

TEST(Lower, MountDefaults) {
  MountSpec s = ParseMount("type=secret,id=tok");
  EXPECT_EQ(s.target, "/run/secrets/tok");
  EXPECT_TRUE(s.read_only);
  MountSpec e = ParseMount("type=secret,id=tok,env=TOKEN");
  EXPECT_EQ(e.target, "");
  EXPECT_EQ(e.env, "TOKEN");
  MountSpec b = ParseMount("target=/src,rw");
  EXPECT_EQ(b.type, MountType::kBind);
  EXPECT_FALSE(b.read_only);
  MountSpec c = ParseMount("type=cache,target=/c,mode=0700,uid=1000,sharing=private");
  EXPECT_EQ(c.id, "/c");
  EXPECT_EQ(c.mode, 0700u);
  EXPECT_EQ(c.uid, 1000u);
  EXPECT_EQ(c.sharing, CacheSharing::kPrivate);
  MountSpec t = ParseMount("type=tmpfs,target=/t,size=64m");
  EXPECT_EQ(t.size, 64 * 1024 * 1024);
  MountSpec q = ParseMount("\"type=bind\",target=/x");  // CSV quoting
  EXPECT_EQ(q.target, "/x");
  EXPECT_THROW(ParseMount("type=secret,id=x,from=img"), MountError);
  EXPECT_THROW(ParseMount("type=bind,target=/x,mode=0755"), MountError);
  EXPECT_THROW(ParseMount("type=cache,target=/x,uid=abc"), MountError);
  EXPECT_NO_THROW(ParseMount("type=cache,target=/x,uid=$UID"));  // checked after expansion
}

TEST(Checks, Warnings) {
  Program p = L(
      "FROM alpine as Builder\n"         // 1: FromAsCasing, StageNameCasing
      "MAINTAINER me\n"                  // 2
      "ENV key value\n"                  // 3: LegacyKeyValueFormat, and "key" looks secret
      "run echo\n"                       // 4: ConsistentInstructionCasing
      "WORKDIR rel\n"                    // 5
      "EXPOSE 80/TCP 127.0.0.1:81:81\n"  // 6
      "ARG DB_PASSWORD\n"                // 7
      "CMD echo a\n"                     // 8: JSONArgsRecommended
      "CMD [\"b\"]\n"                    // 9: MultipleInstructionsDisallowed
      "FROM $UNDECLARED\n");             // 10: UndefinedArgInFrom, InvalidDefaultArgInFrom
  EXPECT_EQ(Rules(p), (std::vector<std::string>{
                          "FromAsCasing@1", "StageNameCasing@1", "MaintainerDeprecated@2",
                          "LegacyKeyValueFormat@3", "SecretsUsedInArgOrEnv@3",
                          "ConsistentInstructionCasing@4", "WorkdirRelativePath@5",
                          "ExposeProtoCasing@6", "ExposeInvalidFormat@6", "SecretsUsedInArgOrEnv@7",
                          "JSONArgsRecommended@8", "MultipleInstructionsDisallowed@8",
                          "UndefinedArgInFrom@10", "InvalidDefaultArgInFrom@10"}));
  EXPECT_EQ(p.warnings[0].url, "https://docs.docker.com/go/dockerfile/rule/from-as-casing/");
}

TEST(Checks, SkipAndErrorDirective) {
  Program p = L("# check=skip=JSONArgsRecommended,MaintainerDeprecated\nFROM a\nMAINTAINER x\nCMD x\nENV a b\n");
  EXPECT_EQ(Rules(p), std::vector<std::string>{"LegacyKeyValueFormat@5"});
  EXPECT_TRUE(L("# check=skip=all\nFROM a\nCMD x\n").warnings.empty());
  EXPECT_TRUE(L("# check=error=true\nFROM a\n").directives.check_config.error);
  EXPECT_THROW(L("# check=bogus=1\nFROM a\n"), ParseError);
}

TEST(Checks, PredefinedArgsAreDeclaredInFrom) {
  EXPECT_TRUE(L("FROM --platform=$BUILDPLATFORM img:$TARGETARCH\n").warnings.empty());
}

}  // namespace
}  // namespace imgbuild::frontend

namespace imgbuild::frontend {
namespace {

// Found by the parser fuzzer: a heredoc-looking word whose delimiter cannot be expanded
// (`<<E${}`) is not a heredoc; lowering used to let the expansion error escape (a crash).
TEST(Lower, ABadHeredocDelimiterIsAWord) {
  Program p = ParseProgram("FROM scratch\nCOPY <<E${} /x\n", "Buildfile");
  ASSERT_EQ(p.stages.size(), 1u);
}

}  // namespace
}  // namespace imgbuild::frontend
