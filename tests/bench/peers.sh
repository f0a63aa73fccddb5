# Shared by the benchmarks that compare imgbuild with buildah and BuildKit on this machine:
# installs what is missing, makes a scratch dir ($work, removed on exit), a busybox base image
# "busybox:bench" for each tool, and TOOL_setup / TOOL_build BUILDFILE [TARGET] functions that
# build $ctx. NO_CACHE=1 makes every tool ignore its build cache. Source it from a bench script.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
scripts/setup.sh build >/dev/null
command -v buildah >/dev/null || apt-get install -y -qq buildah >/dev/null
if ! command -v dockerd >/dev/null; then
  apt-get install -y -qq docker.io >/dev/null 2>&1 || echo "bench: docker.io not installable; BuildKit skipped" >&2
fi
work=$(mktemp -d /var/tmp/imgbuild-bench-XXXXXX)
# Every tool works in a filesystem of its own for the run: an ext4 image with a journal, mounted
# on $work (BENCH_ON_HOST_FS=1: the host's filesystem instead). Without a journal (as on some VM
# images) ext4 skips inodes freed in the last 60-360 s when it allocates new ones, scanning them
# one by one (fs/ext4/ialloc.c, recently_deleted), so creating files right after another tool
# deleted many took 2-10x longer, for every tool, depending on what ran before.
# The loop device does direct I/O, so the image's pages are not cached twice.
fs_image="" fs_dev=""
if [ -z "${BENCH_ON_HOST_FS:-}" ]; then
  fs_image="$work.img"
  truncate -s 60G "$fs_image"
  mkfs.ext4 -q -F -O has_journal "$fs_image"
  fs_dev=$(losetup -f --show --direct-io=on "$fs_image")
  mount "$fs_dev" "$work"
fi
ctx="$work/ctx"
mkdir -p "$ctx"
docker_pid=""
cleanup() {
  [ -n "$docker_pid" ] && kill "$docker_pid" 2>/dev/null && wait "$docker_pid" 2>/dev/null
  grep -o " $work[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  if [ -n "$fs_image" ]; then
    umount "$work" 2>/dev/null || true
    losetup -d "$fs_dev" 2>/dev/null || true
    rm -f "$fs_image"
    rmdir "$work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
testdata/busybox/make-context.sh "$work/bb" >/dev/null
cpus=$(nproc)

now() { echo "${EPOCHREALTIME/,/.}"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

ib_root="$work/imgbuild-root"
imgbuild_setup() { build/imgbuild build --root "$ib_root" -t busybox:bench --progress=plain "$work/bb" >/dev/null 2>&1; }
imgbuild_build() {
  build/imgbuild build --root "$ib_root" --progress=plain --network=none ${NO_CACHE:+--no-cache} \
    ${IB_JOBS:+--jobs "$IB_JOBS"} -f "$1" ${2:+--target "$2"} "$ctx" >/dev/null 2>"$work/last.log" ||
    { cat "$work/last.log" >&2; return 1; }
}
bh=(buildah --root "$work/buildah" --runroot "$work/buildah-run" --storage-driver overlay)
buildah_setup() { "${bh[@]}" bud --isolation chroot -t busybox:bench -f "$work/bb/Buildfile" "$work/bb" >/dev/null 2>&1; }
buildah_build() {  # --layers: each step a layer (and cached), as imgbuild and BuildKit do
  "${bh[@]}" bud --isolation chroot --layers ${NO_CACHE:+--no-cache} --network=host --pull-never --jobs "$cpus" \
    -f "$1" ${2:+--target "$2"} "$ctx" >"$work/last.log" 2>&1 || { cat "$work/last.log" >&2; return 1; }
}
dk=(/usr/bin/docker -H "unix://$work/docker.sock")
docker_setup() {
  command -v dockerd >/dev/null || return 1
  dockerd --iptables=false --ip6tables=false --bridge=none --data-root "$work/docker" --exec-root "$work/dexec" \
    --pidfile "$work/docker.pid" -H "unix://$work/docker.sock" >"$work/dockerd.log" 2>&1 &
  docker_pid=$!
  for _ in $(seq 100); do "${dk[@]}" info >/dev/null 2>&1 && break; sleep 0.2; done
  DOCKER_BUILDKIT=1 "${dk[@]}" build -t busybox:bench -f "$work/bb/Buildfile" "$work/bb" >"$work/last.log" 2>&1 ||
    { cat "$work/last.log" >&2; return 1; }
}
docker_build() {
  DOCKER_BUILDKIT=1 "${dk[@]}" build ${NO_CACHE:+--no-cache} --network=none -f "$1" ${2:+--target "$2"} "$ctx" \
    >"$work/last.log" 2>&1 || { cat "$work/last.log" >&2; return 1; }
}

# stages_buildfile LOOPS: three independent CPU-bound stages (a shell loop of LOOPS iterations)
# and a final stage that copies from each.
stages_buildfile() {
  for s in a b c; do
    echo "FROM busybox:bench AS $s"
    echo "RUN i=0; while [ \$i -lt $1 ]; do i=\$((i+1)); done; echo $s \$i > /$s.txt"
  done
  echo "FROM busybox:bench"
  for s in a b c; do echo "COPY --from=$s /$s.txt /"; done
}

time_build() {  # time_build TOOL BUILDFILE [TARGET]: prints seconds
  local t0 t1
  t0=$(now)
  "$1_build" "$2" "${3:-}"
  t1=$(now)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", b - a }'
}

tools=()
for tool in imgbuild buildah docker; do
  if "${tool}_setup"; then tools+=("$tool"); else echo "bench: $tool could not be set up; skipped" >&2; fi
done
