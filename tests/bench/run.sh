#!/usr/bin/env bash
# Builds (Release) and runs the benchmarks; prints medians of 5 repetitions.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/setup.sh build >/dev/null
cmake -S . -B build-bench -G Ninja -DCMAKE_BUILD_TYPE=Release -DIMGBUILD_TESTS=ON -DIMGBUILD_BENCH=ON >/dev/null
cmake --build build-bench --target parse_bench >/dev/null
build-bench/tests/parse_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
