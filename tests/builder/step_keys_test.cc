// Step keys: which fields count, and the explanations of misses.
#include "builder/solver/step_keys.h"

#include <gtest/gtest.h>

#include "frontend/lower.h"
#include "frontend/parser.h"

namespace imgbuild::builder {
namespace {

struct Planned {
  frontend::Plan plan;
  layers::ImageConfig config;
};

Planned PlanOf(const std::string& text, std::map<std::string, std::string> args = {}) {
  frontend::PlanOptions o;
  o.build_args = std::move(args);
  Planned p{frontend::MakePlan(frontend::Lower(frontend::Parse(text, "Buildfile")), o), {}};
  p.config.config.env = {"PATH=/bin"};
  return p;
}

StepKey KeyOf(const Planned& p, size_t step) {
  const frontend::PlannedStep& s = p.plan.steps.at(step);
  StepKeyInputs in;
  in.parent = cache::CacheKey::Parse("sha256:" + std::string(64, '0'));
  in.config = &p.config;
  in.network = "none";
  return MakeStepKey(s, in);
}

TEST(StepKeysTest, ArgValuesCountOnlyWhereUsed) {
  const char* bf = "FROM scratch\nARG V=1\nLABEL fixed=1\nLABEL v=$V\nRUN true\n";
  Planned a = PlanOf(bf), b = PlanOf(bf, {{"V", "2"}});
  EXPECT_EQ(KeyOf(a, 0).key, KeyOf(b, 0).key);  // ARG: only its name
  EXPECT_EQ(KeyOf(a, 1).key, KeyOf(b, 1).key);  // does not use V
  EXPECT_NE(KeyOf(a, 2).key, KeyOf(b, 2).key);  // uses V
  EXPECT_NE(KeyOf(a, 3).key, KeyOf(b, 3).key);  // RUN sees V in its environment
  Planned proxy = PlanOf(bf, {{"HTTP_PROXY", "http://127.0.0.1:3128"}});
  EXPECT_EQ(KeyOf(a, 3).key, KeyOf(proxy, 3).key);
}

TEST(StepKeysTest, SecretsAreNamedNeverRead) {
  Planned p = PlanOf("FROM scratch\nRUN --mount=type=secret,id=tok true\n");
  StepKey k = KeyOf(p, 0);
  bool named = false;
  for (const auto& [name, value] : k.fields) named |= value.find("id=tok") != std::string::npos;
  EXPECT_TRUE(named);
}

TEST(StepKeysTest, DomainsAndParentsSeparateKeys) {
  Planned p = PlanOf("FROM scratch\nLABEL a=1\nENV a=1\n");
  EXPECT_NE(KeyOf(p, 0).key, KeyOf(p, 1).key);
  const frontend::PlannedStep& s = p.plan.steps[0];
  StepKeyInputs in;
  in.config = &p.config;
  in.parent = cache::CacheKey::Parse("sha256:" + std::string(64, '1'));
  EXPECT_NE(MakeStepKey(s, in).key, KeyOf(p, 0).key);
  EXPECT_NE(ScratchKey("linux/amd64"), ScratchKey("linux/arm64"));
}

}  // namespace
}  // namespace imgbuild::builder
