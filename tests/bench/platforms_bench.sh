#!/usr/bin/env bash
# The cost of platforms (issue 15), imgbuild alone (BuildKit and buildah need the host's
# binfmt_misc set up to emulate, which this benchmark does not touch):
#   emulated RUN: the same RUN natively (linux/amd64) and under qemu-user (linux/arm64,
#                 linux/arm/v7): a shell loop (CPU-bound) and 100 program starts (exec-bound)
#   two-stage app: cold (an empty cache) for one platform and for three, and the no-op rebuild
#                 of each; a FROM --platform=$BUILDPLATFORM stage is shared by the three
# Prints medians of RUNS runs (default 5). Needs root and an amd64 host. Usage: tests/bench/platforms_bench.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-5}
scripts/setup.sh build >/dev/null
work=$(mktemp -d /var/tmp/imgbuild-platforms-XXXXXX)
trap 'rm -rf "$work"' EXIT
now() { echo "${EPOCHREALTIME/,/.}"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ib() { build/imgbuild "$@" --progress=plain --network=none >/dev/null 2>"$work/last.log" || { cat "$work/last.log" >&2; return 1; }; }
timed() { local t0 t1; t0=$(now); "$@"; t1=$(now); awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", b - a }'; }

# The three-platform busybox base, from Debian's busybox-static of each architecture.
mkdir -p "$work/base"
for pair in amd64:/bin/busybox arm64:build/foreign/arm64/busybox arm:build/foreign/armhf/busybox; do
  arch=${pair%%:*}
  testdata/busybox/make-context.sh "$work/bb-$arch" "${pair#*:}" >/dev/null
  mv "$work/bb-$arch/rootfs" "$work/base/rootfs-$arch"
done
printf 'FROM scratch\nARG TARGETARCH\nCOPY rootfs-${TARGETARCH}/ /\nENV PATH=/bin\nCMD ["/bin/sh"]\n' > "$work/base/Buildfile"
make_base() { ib build --root "$1" --platform linux/amd64,linux/arm64,linux/arm/v7 -t busybox:multi "$work/base"; }

mkdir -p "$work/ctx"
cat > "$work/cpu.Buildfile" <<'B'
FROM busybox:multi
RUN i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done
B
cat > "$work/exec.Buildfile" <<'B'
FROM busybox:multi
RUN for i in $(seq 100); do /bin/busybox true; done
B
cat > "$work/app.Buildfile" <<'B'
FROM --platform=$BUILDPLATFORM busybox:multi AS tools
RUN i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; echo tool > /tool
FROM busybox:multi
COPY --from=tools /tool /tool
RUN i=0; while [ $i -lt 50000 ]; do i=$((i+1)); done; uname -m > /arch
B

root="$work/root"
make_base "$root"
declare -A res
for platform in linux/amd64 linux/arm64 linux/arm/v7; do
  for kind in cpu exec; do
    t=()
    for _ in $(seq "$runs"); do
      t+=("$(timed ib build --root "$root" --no-cache --platform "$platform" -f "$work/$kind.Buildfile" "$work/ctx")")
    done
    res[$kind,$platform]=$(printf '%s\n' "${t[@]}" | median)
  done
done

declare -A cold noop
for platforms in linux/amd64 linux/amd64,linux/arm64,linux/arm/v7; do
  c=() n=()
  for i in $(seq "$runs"); do
    r="$work/cold-$i"
    make_base "$r"
    c+=("$(timed ib build --root "$r" --platform "$platforms" -t app:1 -f "$work/app.Buildfile" "$work/ctx")")
    n+=("$(timed ib build --root "$r" --platform "$platforms" -t app:1 -f "$work/app.Buildfile" "$work/ctx")")
    rm -rf "$r"
  done
  cold[$platforms]=$(printf '%s\n' "${c[@]}" | median)
  noop[$platforms]=$(printf '%s\n' "${n[@]}" | median)
done

echo
echo "imgbuild, $(nproc) cores, $(uname -r); medians of $runs runs (build time, seconds)"
printf '%-14s %12s %12s %14s %14s\n' platform "loop (s)" "vs native" "100 execs (s)" "vs native"
for platform in linux/amd64 linux/arm64 linux/arm/v7; do
  awk -v p="$platform" -v a="${res[cpu,$platform]}" -v b="${res[cpu,linux/amd64]}" -v c="${res[exec,$platform]}" \
    -v d="${res[exec,linux/amd64]}" 'BEGIN { printf "%-14s %12.3f %11.1fx %14.3f %13.1fx\n", p, a, a / b, c, c / d }'
done
echo
printf '%-40s %10s %12s\n' "two-stage app, --platform" "cold (s)" "no-op (ms)"
for platforms in linux/amd64 linux/amd64,linux/arm64,linux/arm/v7; do
  awk -v p="$platforms" -v c="${cold[$platforms]}" -v n="${noop[$platforms]}" 'BEGIN { printf "%-40s %10.3f %12.1f\n", p, c, n * 1000 }'
done
awk -v a="${cold[linux/amd64]}" -v b="${cold[linux/amd64,linux/arm64,linux/arm/v7]}" -v c="${noop[linux/amd64]}" \
  -v d="${noop[linux/amd64,linux/arm64,linux/arm/v7]}" \
  'BEGIN { printf "three platforms / one: cold %.2fx, no-op %.2fx\n", b / a, d / c }'
