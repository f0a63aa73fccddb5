#!/usr/bin/env bash
# Registry benchmarks against skopeo in the same run (issue 6): push and pull of a 512 MiB image
# (one layer of incompressible data, gzip) to and from Debian's docker-registry on 127.0.0.1.
# Both push the same compressed layer (imgbuild compresses once and remembers it; skopeo reads
# an OCI layout exported from the same image) into a fresh repository each time, and pull into an
# empty state dir / OCI layout. Prints medians of RUNS runs (default 3) and the ratios.
# Needs root. Usage: tests/bench/registry_bench.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
scripts/setup.sh build >/dev/null
work=$(mktemp -d /var/tmp/imgbuild-regbench-XXXXXX)
cleanup() {
  for p in "${regs[@]}"; do kill "$p" 2>/dev/null; done
  grep -o " $work[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
regs=()
# start_registry NAME: a fresh docker-registry (its own storage) on a free loopback port; prints host:port.
start_registry() {
  local port host
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  host=127.0.0.1:$port
  printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s/data-%s\nhttp:\n  addr: %s\n' \
    "$work" "$1" "$host" > "$work/registry-$1.yml"
  docker-registry serve "$work/registry-$1.yml" >"$work/registry-$1.log" 2>&1 &
  regs+=($!)
  for _ in $(seq 100); do python3 -c "import urllib.request; urllib.request.urlopen('http://$host/v2/')" 2>/dev/null && break; sleep 0.1; done
  echo "$host"
}

mkdir -p "$work/ctx"
head -c $((512 * 1024 * 1024)) /dev/urandom > "$work/ctx/blob.bin"
printf 'FROM scratch\nCOPY blob.bin /blob.bin\n' > "$work/ctx/Buildfile"
root="$work/root"
build/imgbuild build --root "$root" -t big:1 -o type=oci,dest="$work/oci",tar=false "$work/ctx" >/dev/null 2>&1

now() { echo "${EPOCHREALTIME/,/.}"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
timed() { local t0 t1; t0=$(now); "$@" >/dev/null 2>"$work/last.log" || { cat "$work/last.log" >&2; exit 1; }; t1=$(now)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'; }

build/imgbuild push --root "$root" big:1 "127.0.0.1:1/warm:1" >/dev/null 2>&1 || true  # compresses once (memo)
ip=() sp=() il=() sl=()
for i in $(seq "$runs"); do
  # A fresh registry per tool and run: nothing is there yet (and no client-side blob cache helps).
  a=$(start_registry "imgbuild-$i")
  b=$(start_registry "skopeo-$i")
  ip+=("$(timed build/imgbuild push --root "$root" big:1 "$a/bench/img:1")")
  sp+=("$(timed skopeo copy --dest-tls-verify=false "oci:$work/oci" "docker://$b/bench/img:1")")
  rm -rf "$work/pull-root" "$work/pull-oci"
  il+=("$(timed build/imgbuild pull --root "$work/pull-root" "$a/bench/img:1")")
  sl+=("$(timed skopeo copy --src-tls-verify=false "docker://$b/bench/img:1" "oci:$work/pull-oci:x")")
  host=$a
done
m_ip=$(printf '%s\n' "${ip[@]}" | median); m_sp=$(printf '%s\n' "${sp[@]}" | median)
m_il=$(printf '%s\n' "${il[@]}" | median); m_sl=$(printf '%s\n' "${sl[@]}" | median)
echo
echo "512 MiB image, docker-registry on 127.0.0.1 (a fresh one per tool and run); medians of $runs runs"
printf '%-6s %12s %12s %10s\n' "" "imgbuild (s)" "skopeo (s)" "skopeo/imgbuild"
awk -v a="$m_ip" -v b="$m_sp" 'BEGIN { printf "%-6s %12.2f %12.2f %10.2fx\n", "push", a, b, b / a }'
awk -v a="$m_il" -v b="$m_sl" 'BEGIN { printf "%-6s %12.2f %12.2f %10.2fx\n", "pull", a, b, b / a }'
