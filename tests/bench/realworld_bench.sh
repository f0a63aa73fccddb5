#!/usr/bin/env bash
# Real-world Dockerfiles (tests/realworld/cases and tests/realworld/bench-cases: 12 in the style of
# buildpack-deps, jessfraz's images, BuildKit's archutil, awesome-compose's Go and Flask apps and
# the apt cache-mount example), each built with imgbuild and buildah (bud --layers) in the same
# run, on the same Debian base (debootstrap, tests/realworld/make-debian-base.sh), apt reaching
# Debian's archive:
#   cold:   the first build (downloads included, so both tools fetch the same packages)
#   no-op:  a rebuild with nothing changed
#   change: a rebuild after a new last line (COPY Buildfile /bench-change-N): every step cached but
#           that one (the only change a FROM scratch stage can take too)
# Then the state dirs' sizes (imgbuild's by kind). Needs root and the network to Debian's archive.
# Usage: tests/bench/realworld_bench.sh [CASE...]
source "$(dirname "$0")/peers.sh"
tests/realworld/make-debian-base.sh build/realworld-base
build/imgbuild build --root "$ib_root" -t debian:bookworm build/realworld-base/context >/dev/null 2>&1
build/imgbuild save --root "$ib_root" --format docker debian:bookworm -o "$work/debian.tar" >/dev/null
"${bh[@]}" pull docker-archive:"$work/debian.tar" >/dev/null 2>&1
"${bh[@]}" tag "$("${bh[@]}" images -q | head -1)" debian:bookworm >/dev/null 2>&1 || true

cases=("$@")
if [ ${#cases[@]} -eq 0 ]; then
  for d in tests/realworld/cases/* tests/realworld/bench-cases/*; do cases+=("$(basename "$d")"); done
fi
case_dir() { [ -d "tests/realworld/cases/$1" ] && echo "tests/realworld/cases/$1" || echo "tests/realworld/bench-cases/$1"; }
# Both tools build with the network (apt), so these override peers.sh's --network=none builds.
ib_build() {
  build/imgbuild build --root "$ib_root" --progress=plain -f "$1" "$2" >"$work/last.log" 2>&1 ||
    { tail -20 "$work/last.log" >&2; return 1; }
}
bh_build() {
  "${bh[@]}" bud --isolation chroot --layers --network=host --pull-never -f "$1" "$2" >"$work/last.log" 2>&1 ||
    { tail -20 "$work/last.log" >&2; return 1; }
}
seconds() { local t0 t1; t0=$(now); "$@"; t1=$(now); awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }'; }

printf '%-16s %11s %11s %11s %11s %11s %11s\n' case "ib cold" "bh cold" "ib no-op" "bh no-op" "ib change" "bh change"
for c in "${cases[@]}"; do
  for tool in ib bh; do
    rm -rf "$work/ctx-$tool"
    cp -r "$(case_dir "$c")" "$work/ctx-$tool"
  done
  declare -A t=()
  for tool in ib bh; do
    f="$work/ctx-$tool/Buildfile"
    t[$tool-cold]=$(seconds "${tool}_build" "$f" "$work/ctx-$tool") || t[$tool-cold]=fail
    t[$tool-noop]=$(seconds "${tool}_build" "$f" "$work/ctx-$tool") || t[$tool-noop]=fail
    echo "COPY Buildfile /bench-change-$RANDOM" >>"$f"
    t[$tool-change]=$(seconds "${tool}_build" "$f" "$work/ctx-$tool") || t[$tool-change]=fail
  done
  printf '%-16s %11s %11s %11s %11s %11s %11s\n' "$c" "${t[ib-cold]}" "${t[bh-cold]}" "${t[ib-noop]}" \
    "${t[bh-noop]}" "${t[ib-change]}" "${t[bh-change]}"
done
echo
echo "state dirs after the cases (imgbuild by kind, then buildah's storage):"
build/imgbuild du --root "$ib_root"
du -sh "$work/buildah" | awk '{print "buildah storage: " $1}'
