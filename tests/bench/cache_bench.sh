#!/usr/bin/env bash
# Build-cache benchmarks against buildah (--layers) and BuildKit (a Docker daemon started here) in
# the same run (issue 5), on a 20,000-file context (10 directories of 2,000 files, ~50 MB) and a
# Buildfile of ten steps (a COPY per directory):
#   cold:     the first build
#   no-op:    a rebuild with nothing changed (target: under 100 ms, at least 10x faster than each peer)
#   one file: a rebuild after changing one file of the last directory (only its COPY runs again)
#   first:    a rebuild after changing one file of the first directory (every COPY runs again)
# Prints medians of RUNS runs (default 5). Needs root. Usage: tests/bench/cache_bench.sh [RUNS]
source "$(dirname "$0")/peers.sh"
runs=${1:-5}
python3 - "$ctx" <<'PY'
import os, sys
root = sys.argv[1]
for i in range(20000):
    d = os.path.join(root, "d%02d" % (i // 2000), "s%02d" % ((i // 100) % 20))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "f%05d.txt" % i), "wb") as f:
        f.write(os.urandom(1250) + b"x" * 1250)
PY
{
  echo "FROM busybox:bench"
  for i in $(seq -f %02g 0 9); do echo "COPY d$i/ /app/d$i/"; done
} > "$work/cache.Buildfile"
sleep 2  # older than a coarse filesystem's settle time (2 s for whole-second ctimes; 20 ms otherwise)

declare -A cold noop last first
for tool in "${tools[@]}"; do
  cold[$tool]=$(time_build "$tool" "$work/cache.Buildfile")
  a=() b=() c=()
  for i in $(seq "$runs"); do
    a+=("$(time_build "$tool" "$work/cache.Buildfile")")
    echo "change $tool $i $RANDOM" > "$ctx/d09/s19/f19999.txt"
    b+=("$(time_build "$tool" "$work/cache.Buildfile")")
  done
  for i in $(seq 3); do
    echo "change $tool $i $RANDOM" > "$ctx/d00/s00/f00000.txt"
    c+=("$(time_build "$tool" "$work/cache.Buildfile")")
  done
  noop[$tool]=$(printf '%s\n' "${a[@]}" | median)
  last[$tool]=$(printf '%s\n' "${b[@]}" | median)
  first[$tool]=$(printf '%s\n' "${c[@]}" | median)
done

echo
echo "20,000 files, 10 COPY steps; $cpus cores; medians of $runs runs (first-dir change: of 3)"
printf '%-9s %10s %12s %16s %17s\n' tool "cold (s)" "no-op (ms)" "1 file, last (s)" "1 file, first (s)"
for tool in "${tools[@]}"; do
  awk -v t="$tool" -v c="${cold[$tool]}" -v n="${noop[$tool]}" -v l="${last[$tool]}" -v f="${first[$tool]}" \
    'BEGIN { printf "%-9s %10.2f %12.1f %16.3f %17.3f\n", t, c, n * 1000, l, f }'
done
for tool in "${tools[@]}"; do
  [ "$tool" = imgbuild ] && continue
  awk -v t="$tool" -v a="${noop[imgbuild]}" -v b="${noop[$tool]}" -v c="${last[imgbuild]}" -v d="${last[$tool]}" \
    'BEGIN { printf "%s/imgbuild: no-op %.1fx, one-file change %.1fx\n", t, b / a, d / c }'
done
