// Parsing speed: a generated 10,000-instruction Buildfile through Parse, Lower and MakePlan.
// Target (issue 2): well under 50 ms for the whole file.
#include <benchmark/benchmark.h>

#include <string>

#include "frontend/lower.h"
#include "frontend/parser.h"
#include "frontend/plan.h"

namespace {

std::string MakeBuildfile(int instructions) {
  std::string s = "# syntax=docker/dockerfile:1\nARG BASE=debian:12\nFROM ${BASE} AS base\n";
  int n = 2;
  for (int i = 0; n < instructions; ++i) {
    switch (i % 10) {
      case 0: s += "RUN apt-get update && \\\n    # a comment inside\n    apt-get install -y pkg" + std::to_string(i) + " \\\n    && rm -rf /var/lib/apt/lists/*\n"; break;
      case 1: s += "ENV VAR" + std::to_string(i) + "=value" + std::to_string(i) + " OTHER=\"$VAR" + std::to_string(i) + " x\"\n"; break;
      case 2: s += "COPY --chown=1000:1000 --chmod=0644 src/file" + std::to_string(i) + ".txt /app/\n"; break;
      case 3: s += "RUN [\"/bin/sh\", \"-c\", \"echo " + std::to_string(i) + "\"]\n"; break;
      case 4: s += "LABEL com.example.l" + std::to_string(i) + "=\"label value\"\n"; break;
      case 5: s += "WORKDIR /app/dir" + std::to_string(i) + "\n"; break;
      case 6: s += "ARG A" + std::to_string(i) + "=${VAR" + std::to_string(i - 5) + ":-default}\n"; break;
      case 7: s += "RUN --mount=type=cache,target=/root/.cache <<EOF\necho heredoc " + std::to_string(i) + "\nEOF\n"; break;
      case 8: s += "EXPOSE 80" + std::to_string(i % 100) + "/tcp\n"; break;
      case 9: s += "USER app:app\n"; break;
    }
    ++n;
  }
  s += "FROM base AS final\nCMD [\"/app/run\"]\n";
  return s;
}

void BM_Parse10k(benchmark::State& state) {
  std::string text = MakeBuildfile(10000);
  for (auto _ : state) {
    auto file = imgbuild::frontend::Parse(text, "bench");
    benchmark::DoNotOptimize(file);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}
BENCHMARK(BM_Parse10k)->Unit(benchmark::kMillisecond);

void BM_ParseLower10k(benchmark::State& state) {
  std::string text = MakeBuildfile(10000);
  for (auto _ : state) {
    auto program = imgbuild::frontend::ParseProgram(text, "bench");
    benchmark::DoNotOptimize(program);
  }
}
BENCHMARK(BM_ParseLower10k)->Unit(benchmark::kMillisecond);

// The plan of this file is a worst case: 1,000 ENV and 1,000 ARG in one stage, so each step's
// environment snapshot holds up to 2,000 variables.
void BM_ParseLowerPlan10k(benchmark::State& state) {
  std::string text = MakeBuildfile(10000);
  for (auto _ : state) {
    auto plan = imgbuild::frontend::MakePlan(imgbuild::frontend::ParseProgram(text, "bench"), {});
    benchmark::DoNotOptimize(plan);
  }
}
BENCHMARK(BM_ParseLowerPlan10k)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
