// libFuzzer target: any bytes through the parser, the lowering, the plan and the .dockerignore
// reader. Only ParseError (and IgnorePatternError) are expected; anything else is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "frontend/dockerignore.h"
#include "frontend/lower.h"
#include "frontend/parser.h"
#include "frontend/plan.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace imgbuild::frontend;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    Program program = Lower(Parse(text, "fuzz"));
    PlanOptions options;
    options.build_args["A"] = "x";
    MakePlan(std::move(program), options);
  } catch (const ParseError&) {
  }
  try {
    IgnoreMatcher m(ReadIgnoreFile(text));
    m.Excluded("a/b/c.txt");
    m.Excluded(text.substr(0, 64));
  } catch (const IgnorePatternError&) {
  }
  return 0;
}
