// The build plan: ARG scoping and overrides, ENV snapshots, stage references, pruning, the DAG.
#include "frontend/plan.h"

#include <gtest/gtest.h>

#include "frontend/lower.h"

namespace imgbuild::frontend {
namespace {

PlanOptions Opts(std::map<std::string, std::string> args = {}, std::string target = "") {
  PlanOptions o;
  o.build_args = std::move(args);
  o.target = std::move(target);
  o.build_platform = PlatformSpec::Parse("linux/amd64");
  return o;
}

Plan MakeP(const std::string& text, const PlanOptions& o = Opts()) {
  return MakePlan(ParseProgram(text, "Buildfile"), o);
}

std::string PlanError(const std::string& text, const PlanOptions& o = Opts()) {
  try {
    MakeP(text, o);
  } catch (const ParseError& e) {
    return e.message();
  }
  return "no error";
}

const PlannedStep& StepAt(const Plan& p, int line) {
  for (const PlannedStep& s : p.steps) {
    if (s.location.line == line) return s;
  }
  throw std::runtime_error("no step on line " + std::to_string(line));
}

std::vector<std::string> Env(const PlannedStep& s) { return *s.env; }
std::vector<std::string> Args(const PlannedStep& s) { return *s.build_args; }

TEST(Plan, GlobalArgsOnlyInFromUnlessRedeclared) {
  Plan p = MakeP(
      "ARG IMG=alpine\nARG TAG=3.20\n"
      "FROM ${IMG}:${TAG}\n"
      "LABEL a=${TAG}\n"    // 4: not visible
      "ARG TAG\n"           // 5: re-declared, takes the global value
      "LABEL b=${TAG}\n");  // 6
  EXPECT_EQ(p.stages[0].base.ref, "alpine:3.20");
  EXPECT_EQ(StepAt(p, 4).words, std::vector<std::string>{"a="});
  EXPECT_EQ(StepAt(p, 6).words, std::vector<std::string>{"b=3.20"});
  EXPECT_EQ(StepAt(p, 6).used_args, std::set<std::string>{"TAG"});
}

TEST(Plan, BuildArgOverridesDefaultsEverywhere) {
  Plan p = MakeP("ARG TAG=1\nFROM img:$TAG\nARG V=a\nARG TAG\nENV X=$V-$TAG\n", Opts({{"TAG", "2"}, {"V", "b"}}));
  EXPECT_EQ(p.stages[0].base.ref, "img:2");
  EXPECT_EQ(StepAt(p, 5).words, std::vector<std::string>{"X=b-2"});
  EXPECT_TRUE(p.unused_build_args.empty());
}

TEST(Plan, UnusedBuildArgsReported) {
  Plan p = MakeP("FROM a\n", Opts({{"NOPE", "1"}, {"HTTP_PROXY", "x"}}));
  EXPECT_EQ(p.unused_build_args, std::vector<std::string>{"NOPE"});
}

TEST(Plan, EnvOverridesArgAndSnapshotsPerInstruction) {
  Plan p = MakeP(
      "FROM a\nARG A=arg\nENV A=env\nLABEL l=$A\n"  // 4: ENV wins
      "ENV B=1\nENV B=2 C=$B\n"                      // 6: C uses the old B
      "RUN echo\n");                                  // 7
  EXPECT_EQ(StepAt(p, 4).words, std::vector<std::string>{"l=env"});
  EXPECT_EQ(StepAt(p, 6).words, (std::vector<std::string>{"B=2", "C=1"}));
  EXPECT_EQ(Env(StepAt(p, 7)), (std::vector<std::string>{"A=env", "B=2", "C=1"}));
  EXPECT_TRUE(Args(StepAt(p, 7)).empty());  // A is shadowed by ENV
}

// BuildKit splits each EXPOSE argument into words after expansion (issue 13, item 14).
TEST(Plan, ExposeSplitsExpandedWords) {
  Plan p = MakeP("FROM a\nARG PORTS=\"3000 4000/udp\"\nEXPOSE $PORTS 80\n");
  EXPECT_EQ(StepAt(p, 3).words, (std::vector<std::string>{"3000", "4000/udp", "80"}));
}

TEST(Plan, RunSeesArgsInScopeAndProxies) {
  Plan p = MakeP("FROM a\nARG X=1 Y\nRUN true\n", Opts({{"https_proxy", "http://p:3128"}}));
  // Both spellings, as BuildKit's proxy environment (testBuiltinArgs).
  EXPECT_EQ(Args(StepAt(p, 3)), (std::vector<std::string>{"X=1", "https_proxy=http://p:3128", "HTTPS_PROXY=http://p:3128"}));
  // A spelling given on its own keeps its own value.
  Plan both = MakeP("FROM a\nRUN true\n", Opts({{"no_proxy", "a"}, {"NO_PROXY", "b"}}));
  EXPECT_EQ(Args(StepAt(both, 2)), (std::vector<std::string>{"NO_PROXY=b", "no_proxy=a"}));
}

TEST(Plan, StagesInheritArgsEnvWorkdirUser) {
  // ARGs declared in the base stage carry over, as BuildKit since 0.15.
  Plan p = MakeP("FROM a AS one\nARG X=1\nENV E=e\nWORKDIR /w\nUSER u\nFROM one\nLABEL x=$X e=$E\n");
  const PlannedStep& s = StepAt(p, 7);
  EXPECT_EQ(s.words, (std::vector<std::string>{"x=1", "e=e"}));
  EXPECT_EQ(s.workdir, "/w");
  EXPECT_EQ(s.user, "u");
}

TEST(Plan, PlatformArgs) {
  PlanOptions o = Opts();
  o.target_platform = PlatformSpec::Parse("linux/arm64/v8");
  Plan p = MakeP("FROM --platform=$BUILDPLATFORM img:$TARGETARCH\nARG TARGETPLATFORM TARGETOS\nLABEL p=$TARGETPLATFORM os=$TARGETOS\n", o);
  EXPECT_EQ(p.stages[0].platform, "linux/amd64");
  EXPECT_EQ(p.stages[0].base.ref, "img:arm64");
  EXPECT_EQ(StepAt(p, 3).words, (std::vector<std::string>{"p=linux/arm64", "os=linux"}));
}

TEST(Plan, WorkdirJoinsAndCleans) {
  Plan p = MakeP("FROM a\nWORKDIR app\nWORKDIR ../x/./y\nENV D=/abs\nWORKDIR $D/z\n");
  EXPECT_EQ(StepAt(p, 2).workdir, "/app");
  EXPECT_EQ(StepAt(p, 3).workdir, "/x/y");
  EXPECT_EQ(StepAt(p, 5).workdir, "/abs/z");
}

TEST(Plan, StagesByNameAndIndexAndPruning) {
  Plan p = MakeP(
      "FROM a AS base\nRUN one\n"            // 0
      "FROM base AS unused\nRUN two\n"       // 1
      "FROM b AS tools\nRUN three\n"         // 2
      "FROM scratch\nCOPY --from=0 /x /x\nRUN --mount=type=bind,from=tools,target=/t four\n");  // 3
  EXPECT_EQ(p.target, 3);
  EXPECT_TRUE(p.stages[0].needed);
  EXPECT_FALSE(p.stages[1].needed);
  EXPECT_TRUE(p.stages[2].needed);
  EXPECT_EQ(p.stages[3].base.kind, BaseRef::kScratch);
  EXPECT_EQ(p.stages[3].depends_on, (std::set<int>{0, 2}));
  EXPECT_EQ(p.order.back(), 3);
  EXPECT_EQ(p.steps.size(), 4u);  // RUN two is pruned
  const PlannedStep& copy = StepAt(p, 8);
  const PlannedStep& run = StepAt(p, 9);
  EXPECT_EQ(copy.deps, std::vector<StepId>{StepAt(p, 2).id});
  EXPECT_EQ(run.deps, (std::vector<StepId>{copy.id, StepAt(p, 6).id}));
}

TEST(Plan, TargetByNameAndErrors) {
  const char* text = "FROM a AS base\nRUN x\nFROM base AS app\nRUN y\n";
  Plan p = MakeP(text, Opts({}, "base"));
  EXPECT_EQ(p.target, 0);
  EXPECT_FALSE(p.stages[1].needed);
  EXPECT_EQ(PlanError(text, Opts({}, "ap")),
            "target stage \"ap\" could not be found (did you mean app?); stages: base, app");
}

TEST(Plan, StageBaseIsResolvedCaseInsensitively) {
  Plan p = MakeP("FROM a AS Base\nFROM BASE\n");
  EXPECT_EQ(p.stages[1].base.kind, BaseRef::kStage);
}

TEST(Plan, ImageReferencesAreExternal) {
  Plan p = MakeP("FROM a\nCOPY --from=nginx:1.27 /etc/nginx /etc/nginx\nCOPY ctx /ctx\n");
  EXPECT_EQ(StepAt(p, 2).externals[0].kind, ExternalInput::kImage);
  EXPECT_EQ(StepAt(p, 2).externals[0].name, "nginx:1.27");
  EXPECT_EQ(StepAt(p, 3).externals[0].kind, ExternalInput::kBuildContext);
}

TEST(Plan, Cycles) {
  // FROM sees only the stages above it (BuildKit): here the first `b` is an image, no cycle.
  Plan p = MakeP("FROM b AS a\nFROM a AS b\n");
  EXPECT_EQ(p.stages[0].base.kind, BaseRef::kImage);
  EXPECT_EQ(p.stages[1].base.kind, BaseRef::kStage);
  // COPY --from must name an earlier stage (BuildKit's testOutOfOrderStage), but a cycle through
  // a later stage is reported as the cycle, as BuildKit's TestDockerfileCircularDependencies.
  EXPECT_EQ(PlanError("FROM x AS a\nCOPY --from=b /x /x\nFROM x AS b\nCOPY --from=a /y /y\n"),
            "circular dependency detected on stage: a (a -> b -> a)");
  EXPECT_EQ(PlanError("FROM x AS a\nCOPY --from=b /x /x\nFROM x AS b\nFROM a\n"),
            "cannot copy from stage \"b\", it needs to be defined before current stage \"a\"");
  EXPECT_EQ(PlanError("FROM x AS a\nCOPY --from=a /x /x\n"),
            "circular dependency detected on stage: a (COPY --from names its own stage)");
}

TEST(Plan, BadStageReferences) {
  EXPECT_EQ(PlanError("FROM a AS builder\nFROM b\nCOPY --from=buidler /x /x\n"),
            "COPY --from=buidler names no stage (did you mean builder?)");
  // A later stage is refused, by name or by index; an index past the last stage is invalid.
  EXPECT_EQ(PlanError("FROM a AS x\nCOPY --from=1 /x /x\nFROM b\n", Opts({}, "x")),
            "cannot copy from stage \"1\", it needs to be defined before current stage \"x\"");
  EXPECT_EQ(PlanError("FROM a\nRUN --mount=from=1,target=/m true\nFROM b\n", Opts({}, "0")),
            "cannot mount from stage \"1\", it needs to be defined before current stage \"stage-0\"");
  EXPECT_EQ(PlanError("FROM a\nCOPY --from=7 /x /x\n"), "COPY --from=7: invalid stage index 7 (stages are numbered from 0)");
}

TEST(Plan, ErrorsInPrunedStagesDoNotFail) {
  const char* text = "FROM a AS broken\nENV X=${Y:?must_be_set}\nFROM b\nRUN ok\n";
  EXPECT_NO_THROW(MakeP(text));
  EXPECT_EQ(PlanError(text, Opts({}, "broken")), "failed to process \"${Y:?must_be_set}\": Y: must_be_set");
}

TEST(Plan, EmptyBaseAfterExpansion) {
  EXPECT_EQ(PlanError("ARG IMG\nFROM $IMG\n"),
            "the base image of this stage is empty after expanding \"$IMG\": give the ARG a default or pass --build-arg");
}

TEST(Plan, MountsExpandedAndSecretsCollected) {
  Plan p = MakeP(
      "FROM a\nARG CACHE=/c\n"
      "RUN --mount=type=cache,target=$CACHE --mount=type=secret,id=npm,required --mount=type=ssh x\n");
  const PlannedStep& s = StepAt(p, 3);
  const auto& run = std::get<RunStep>(s.op);
  ASSERT_EQ(run.mounts.size(), 3u);
  EXPECT_EQ(run.mounts[0].target, "/c");
  EXPECT_EQ(run.mounts[1].target, "/run/secrets/npm");
  EXPECT_EQ(s.used_args, std::set<std::string>{"CACHE"});
  ASSERT_EQ(p.secrets.size(), 2u);
  EXPECT_EQ(p.secrets[0].id, "npm");
  EXPECT_TRUE(p.secrets[0].required);
  EXPECT_TRUE(p.secrets[1].ssh);
  EXPECT_EQ(p.secrets[1].id, "default");
}

TEST(Plan, CopyHeredocsExpandUnlessQuoted) {
  Plan p = MakeP("FROM a\nARG V=1\nCOPY <<A <<'B' /d/\nv=$V it's \\$V\nA\nraw $V\nB\n");
  const PlannedStep& s = StepAt(p, 3);
  const auto& copy = std::get<CopyStep>(s.op);
  ASSERT_EQ(copy.heredocs.size(), 2u);
  EXPECT_EQ(copy.heredocs[0], (std::pair<std::string, std::string>{"A", "v=1 it's $V\n"}));
  EXPECT_EQ(copy.heredocs[1], (std::pair<std::string, std::string>{"B", "raw $V\n"}));
  EXPECT_TRUE(copy.sources.empty());
  EXPECT_EQ(copy.dest, "/d/");
  EXPECT_EQ(s.used_args, std::set<std::string>{"V"});
}

// Every instruction becomes a typed step: the builder never reads keywords or flag maps.
TEST(Plan, StepsAreTyped) {
  Plan p = MakeP("FROM a\nENV X=1\nWORKDIR sub\nRUN --network=none --security=insecure ls\n"
                 "ADD --exclude=*.md --exclude=$X --keep-git-dir=true x y\nCMD [\"a\"]\n"
                 "HEALTHCHECK --interval=5s CMD true\n");
  EXPECT_EQ(std::get<MetadataStep>(StepAt(p, 2).op).kind, MetadataKind::kEnv);
  EXPECT_EQ(std::get<WorkdirStep>(StepAt(p, 3).op).path, "sub");
  EXPECT_EQ(StepAt(p, 3).workdir, "/sub");
  const auto& run = std::get<RunStep>(StepAt(p, 4).op);
  EXPECT_EQ(run.network, NetworkMode::kNone);
  EXPECT_TRUE(run.insecure);
  const auto& add = std::get<CopyStep>(StepAt(p, 5).op);
  EXPECT_TRUE(add.add);
  EXPECT_TRUE(add.keep_git_dir);
  EXPECT_EQ(add.excludes, (std::vector<std::string>{"*.md", "1"}));  // a list, each expanded
  const auto& cmd = std::get<MetadataStep>(StepAt(p, 6).op);
  EXPECT_EQ(cmd.kind, MetadataKind::kCmd);
  EXPECT_TRUE(cmd.exec_form);
  const auto& hc = std::get<MetadataStep>(StepAt(p, 7).op);
  EXPECT_EQ(hc.kind, MetadataKind::kHealthcheck);
  EXPECT_EQ(hc.interval_ns, 5000000000);
}

TEST(Plan, CopyFlagsExpanded) {
  Plan p = MakeP("FROM a AS src\nFROM b\nARG U=1000 M=0755 S=src\nCOPY --from=src --chown=$U:$U --chmod=$M a $U/\n");
  const PlannedStep& s = StepAt(p, 4);
  const auto& copy = std::get<CopyStep>(s.op);
  EXPECT_EQ(copy.chown, "1000:1000");
  EXPECT_EQ(copy.chmod, "0755");
  EXPECT_EQ(copy.from, "src");
  EXPECT_EQ(copy.sources, (std::vector<std::string>{"a"}));
  EXPECT_EQ(copy.dest, "1000/");
  EXPECT_EQ(s.words, (std::vector<std::string>{"a", "1000/"}));
  EXPECT_EQ(s.deps.size(), 1u);
}

TEST(Plan, CopyFromIsNotExpanded) {
  // BuildKit's testDockerfileCopyFromArgs: a stage name cannot come from a variable.
  EXPECT_NE(PlanError("FROM a AS src\nFROM b\nARG S=src\nCOPY --from=$S a /\n").find("variable expansion is not supported for --from"),
            std::string::npos);
}

TEST(Plan, UndefinedVarWarnings) {
  Plan p = MakeP("FROM scratch\nENV HOME_DIR=/h\nARG DECLARED\nCOPY $NOPE ${home_dir} ${DEF:-d} $DECLARED /x/\n");
  std::vector<std::string> messages;
  for (const Warning& w : p.warnings) messages.push_back(w.rule + ": " + w.message);
  // Suggestions are case-sensitive, as BuildKit's on Linux (testUnmatchedVars).
  EXPECT_EQ(messages, (std::vector<std::string>{"UndefinedVar: Usage of undefined variable '$NOPE'",
                                                "UndefinedVar: Usage of undefined variable '$home_dir'"}));
  Plan typo = MakeP("FROM scratch\nENV PATH=/bin\nARG DIR_ASSETS=assets/\nENV PATH=$PAHT:/tmp/bin\nCOPY $DIR_ASSET .\n");
  ASSERT_EQ(typo.warnings.size(), 2u);
  EXPECT_EQ(typo.warnings[0].message, "Usage of undefined variable '$PAHT' (did you mean $PATH?)");
  EXPECT_EQ(typo.warnings[1].message, "Usage of undefined variable '$DIR_ASSET' (did you mean $DIR_ASSETS?)");
  // An image whose configuration the plan cannot see might define anything.
  EXPECT_TRUE(MakeP("FROM alpine\nCOPY $NOPE /x\n").warnings.empty());
  PlanOptions o = Opts();
  o.base_image = [](const std::string&) { return BaseImageInfo{{"FROM_IMAGE=1"}, "", "", std::nullopt, {}}; };
  Plan with_image = MakeP("FROM alpine\nCOPY $FROM_IMAGE $NOPE /x/\n", o);
  ASSERT_EQ(with_image.warnings.size(), 1u);
  EXPECT_EQ(with_image.warnings[0].message, "Usage of undefined variable '$NOPE'");
  EXPECT_TRUE(MakeP("# check=skip=UndefinedVar\nFROM scratch\nCOPY $NOPE /x\n").warnings.empty());
}

TEST(Plan, PlatformParsing) {
  EXPECT_EQ(PlatformSpec::Parse("linux/x86_64").ToString(), "linux/amd64");
  EXPECT_EQ(PlatformSpec::Parse("arm64").ToString(), "linux/arm64");
  EXPECT_EQ(PlatformSpec::Parse("linux/arm/v7").ToString(), "linux/arm/v7");
  EXPECT_THROW(PlatformSpec::Parse("linux//"), std::invalid_argument);
  // containerd's normalisation
  EXPECT_EQ(PlatformSpec::Parse("linux/arm").ToString(), "linux/arm/v7");
  EXPECT_EQ(PlatformSpec::Parse("linux/armhf").ToString(), "linux/arm/v7");
  EXPECT_EQ(PlatformSpec::Parse("linux/armel").ToString(), "linux/arm/v6");
  EXPECT_EQ(PlatformSpec::Parse("linux/aarch64/v8").ToString(), "linux/arm64");
  EXPECT_EQ(PlatformSpec::Parse("linux/amd64/v1").ToString(), "linux/amd64");
  EXPECT_EQ(PlatformSpec::Parse("linux/amd64/v3").ToString(), "linux/amd64/v3");
  EXPECT_EQ(PlatformSpec::Parse("LINUX/PPC64LE").ToString(), "linux/ppc64le");
  EXPECT_EQ(PlatformSpec::Parse("windows/amd64").ToString(), "windows/amd64");
  // the OCI platform table
  for (const char* bad : {"linux/amd64,linux/arm64", "local", "linux/x86", "linux/amd64/v7", "linus/amd64",
                          "linux/arm/v9", "linux/s390x/v1", "a/b/c/d"}) {
    SCOPED_TRACE(bad);
    EXPECT_THROW(PlatformSpec::Parse(bad), std::invalid_argument);
  }
  try {
    PlatformSpec::Parse("linux/amd64,linux/arm64");
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("names several platforms where one is meant"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace imgbuild::frontend
