#!/usr/bin/env bash
# COPY benchmarks against buildah on the same contexts in the same run (issue 3):
#   big:   one 512 MiB incompressible file
#   small: 20,000 small files (~100 MB)
# Each tool builds `FROM scratch / COPY . /data/` into a fresh state dir; wall time and peak RSS
# come from /usr/bin/time -v. Prints the median of RUNS runs (default 3) and the ratios.
# Needs root (buildah). Usage: tests/bench/copy_bench.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
scripts/setup.sh build >/dev/null
command -v buildah >/dev/null || apt-get install -y -qq buildah >/dev/null
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null
work=$(mktemp -d /var/tmp/imgbuild-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/big" "$work/small"
head -c $((512 * 1024 * 1024)) /dev/urandom > "$work/big/blob.bin"
python3 tests/bench/small_files.py "$work/small" 20000 200 2500
for c in big small; do printf 'FROM scratch\nCOPY . /data/\n' > "$work/$c.Buildfile"; done

measure() {  # measure NAME COMMAND...: prints "seconds rss_kib"
  local log="$work/time.log"
  sync
  /usr/bin/time -v "$@" >/dev/null 2>"$log" || { cat "$log" >&2; return 1; }
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
  echo "$wall $rss"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A wall rss
for c in big small; do
  for tool in imgbuild buildah; do
    ws=() ; rs=()
    for i in $(seq "$runs"); do
      root="$work/root-$tool-$c-$i"
      if [ "$tool" = imgbuild ]; then
        out=$(measure build/imgbuild build --root "$root" -f "$work/$c.Buildfile" -t bench "$work/$c")
      else
        out=$(measure buildah --root "$root" --runroot "$root/run" --storage-driver overlay bud \
          --isolation chroot --layers=false -f "$work/$c.Buildfile" -t bench "$work/$c")
        buildah --root "$root" --runroot "$root/run" --storage-driver overlay rmi -a -f >/dev/null 2>&1 || true
      fi
      ws+=("${out% *}"); rs+=("${out#* }")
      rm -rf "$root"
    done
    wall[$tool-$c]=$(printf '%s\n' "${ws[@]}" | median)
    rss[$tool-$c]=$(printf '%s\n' "${rs[@]}" | median)
  done
done

printf '\n%-8s %-9s %10s %12s\n' case tool "wall (s)" "peak RSS"
for c in big small; do
  for tool in imgbuild buildah; do
    printf '%-8s %-9s %10.2f %9d MiB\n' "$c" "$tool" "${wall[$tool-$c]}" $(( ${rss[$tool-$c]} / 1024 ))
  done
  awk -v a="${wall[imgbuild-$c]}" -v b="${wall[buildah-$c]}" -v c="$c" \
    'BEGIN { printf "%-8s buildah/imgbuild wall-time ratio: %.2fx\n", c, b / a }'
done
