#!/usr/bin/env bash
# Builds the parser fuzz target with clang (libFuzzer + ASan + UBSan) and runs it for N seconds
# (default 60) on a corpus seeded from testdata/. Fails on any crash, leak, timeout or sanitizer report.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DIMGBUILD_FUZZ=ON -DIMGBUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz --target parser_fuzz >/dev/null
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
find testdata -type f \( -name '*Buildfile*' -o -name 'Dockerfile*' -o -name '*.dockerignore' \) \
  -exec cp -t "$corpus" {} + 2>/dev/null || true
echo "fuzz: running parser_fuzz for ${seconds}s on $(ls "$corpus" | wc -l) seed files"
build-fuzz/tests/parser_fuzz -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 "$corpus" 2>build-fuzz/fuzz.log || { tail -60 build-fuzz/fuzz.log; exit 1; }
grep -E 'stat::number_of_executed_units|Done' build-fuzz/fuzz.log | tail -2
echo "fuzz: no crash, leak or hang in ${seconds}s"
