#!/usr/bin/env bash
# Builds the fuzz targets with clang (libFuzzer + ASan + UBSan) and runs each for N seconds
# (default 60): parser_fuzz on Buildfiles and .dockerignore files seeded from testdata/,
# applier_fuzz on layer tars, load_fuzz on image archives (seeds from make_seeds.sh). Fails on
# any crash, leak, timeout or sanitizer report. Usage: tests/fuzz/run_fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(parser_fuzz applier_fuzz load_fuzz)
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DIMGBUILD_FUZZ=ON -DIMGBUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz --target "${targets[@]}" >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/parser_fuzz"
find testdata -type f \( -name '*Buildfile*' -o -name 'Dockerfile*' -o -name '*.dockerignore' \) \
  -exec cp -t "$work/parser_fuzz" {} + 2>/dev/null || true
tests/fuzz/make_seeds.sh "$work/applier_fuzz" "$work/load_fuzz"
# The applier and load targets drop to "nobody": their corpora and artifacts must be theirs.
chmod -R a+rwX "$work"
for t in "${targets[@]}"; do
  echo "fuzz: running $t for ${seconds}s on $(ls "$work/$t" | wc -l) seed files"
  mkdir -p "$work/artifacts-$t" && chmod a+rwx "$work/artifacts-$t"
  build-fuzz/tests/"$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix="$work/artifacts-$t/" -print_final_stats=1 "$work/$t" 2>"build-fuzz/$t.log" ||
    { tail -60 "build-fuzz/$t.log"; cp -r "$work/artifacts-$t" build-fuzz/ 2>/dev/null || true; exit 1; }
  grep -E 'stat::number_of_executed_units' "build-fuzz/$t.log" | tail -1
done
echo "fuzz: no crash, leak or hang in ${seconds}s for each of ${targets[*]}"
