#!/usr/bin/env bash
# The whole test suite: set up and build, run every test (ctest), then fuzz the parser for 60 s.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
log=$(mktemp)
trap 'rm -f "$log"' EXIT
ctest --test-dir build --output-on-failure -j "$(nproc)" | tee "$log"
tests/fuzz/run_fuzz.sh 60
total=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -1)
echo "tests: ${total} passed, 0 failed"
