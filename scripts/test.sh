#!/usr/bin/env bash
# The whole test suite: set up and build, run every test (ctest), then fuzz the parser for 60 s.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build
ctest --test-dir build --output-on-failure -j "$(nproc)"
tests/fuzz/run_fuzz.sh 60
