#!/usr/bin/env bash
# Builds every case of tests/conformance/cases with imgbuild and with a real BuildKit (the one in
# Debian's dockerd, started here on a socket and data root of its own, as the benchmarks do) and
# compares what each produced: the root filesystem (path, type, mode, uid:gid, size, content hash,
# link target; times left out) and the image config (runtime fields and the history's created_by
# texts; dockerd's history does not show empty_layer).
# Not part of the test suite: run it by hand, as root.
#   tests/conformance/against_buildkit.sh [CASE...]      (default: every case)
# Prints one line per case and a summary; the details of each difference go to $WORK/CASE.diff.
set -euo pipefail
cd "$(dirname "$0")/../.."
src=$PWD
imgbuild=${IMGBUILD:-$src/build/imgbuild}
docker=/usr/bin/docker
[ "$(id -u)" = 0 ] || { echo "against_buildkit: run as root" >&2; exit 2; }
command -v dockerd >/dev/null || { echo "against_buildkit: dockerd missing (apt-get install docker.io)" >&2; exit 2; }
[ -x "$imgbuild" ] || { echo "against_buildkit: $imgbuild missing (build first)" >&2; exit 2; }

WORK=${WORK:-$(mktemp -d /tmp/imgbuild-vs-buildkit-XXXXXX)}
mkdir -p "$WORK"
sock=$WORK/docker.sock
export DOCKER_HOST=unix://$sock DOCKER_BUILDKIT=1
# (Re)starts dockerd: its BuildKit panics on some Buildfiles (a file with no stage) and takes
# the daemon with it.
starts=0
start_dockerd() {
  # What a crashed daemon left (its containerd) goes first; each start has an exec root of its own.
  pkill -f "containerd --config $WORK/exec" 2>/dev/null || true
  starts=$((starts + 1))
  rm -f "$WORK/docker.pid"
  dockerd --iptables=false --bridge=none --data-root "$WORK/docker" --exec-root "$WORK/exec$starts" \
    --pidfile "$WORK/docker.pid" -H "$DOCKER_HOST" >>"$WORK/dockerd.log" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 60); do $docker version >/dev/null 2>&1 && return 0; sleep 0.5; done
  return 1
}
cleanup() {
  kill "$dockerd_pid" 2>/dev/null || true
  wait "$dockerd_pid" 2>/dev/null || true
  pkill -f "containerd --config $WORK/exec" 2>/dev/null || true
  grep -o " $WORK[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
}
trap cleanup EXIT
start_dockerd || true
$docker version --format 'BuildKit of dockerd {{.Server.Version}}' || { cat "$WORK/dockerd.log"; exit 1; }

# One busybox base for both: made by imgbuild (as the test runner makes it), loaded into dockerd.
testdata/busybox/make-context.sh "$WORK/busybox" >/dev/null
cp tests/conformance/busybox-etc/passwd tests/conformance/busybox-etc/group "$WORK/busybox/rootfs/etc/"
root=$WORK/root
"$imgbuild" build --root "$root" -t busybox -o "type=docker,dest=$WORK/busybox.tar" "$WORK/busybox" >/dev/null 2>&1
$docker load -i "$WORK/busybox.tar" >/dev/null

# "type mode uid:gid size sha256 -> target" for every path below DIR.
listing() {
  python3 - "$1" <<'PY'
import hashlib, os, stat, sys
top = sys.argv[1]
for dirpath, dirs, files in os.walk(top):
    dirs.sort()
    for name in sorted(dirs + files):
        p = os.path.join(dirpath, name)
        st = os.lstat(p)
        rel = "/" + os.path.relpath(p, top)
        kind = "d" if stat.S_ISDIR(st.st_mode) else "l" if stat.S_ISLNK(st.st_mode) else "f" if stat.S_ISREG(st.st_mode) else "o"
        extra = ""
        if kind == "f":
            extra = "%d %s" % (st.st_size, hashlib.sha256(open(p, "rb").read()).hexdigest()[:16])
        elif kind == "l":
            extra = "-> " + os.readlink(p)
        print(rel, kind, "%04o" % (st.st_mode & 0o7777), "%d:%d" % (st.st_uid, st.st_gid), extra)
PY
}

# The config fields both builders set, and the history after the base image's entries.
config_of() {
  python3 -c '
import json, sys
c = json.load(sys.stdin)
cfg = c.get("config") or {}
keys = ["User", "Env", "Entrypoint", "Cmd", "WorkingDir", "ExposedPorts", "Volumes", "Labels",
        "StopSignal", "Healthcheck", "OnBuild", "Shell", "ArgsEscaped"]
out = {k: cfg.get(k) for k in keys if cfg.get(k) not in (None, [], {}, "", False)}
out["history"] = [h.get("created_by", "") for h in c.get("history", [])[3:]]
print(json.dumps(out, indent=1, sort_keys=True))'
}

cases=("$@")
[ ${#cases[@]} -gt 0 ] || mapfile -t cases < <(ls tests/conformance/cases)
same=0 same_stubs=0 differ=0 both_fail=0 fail_one=0
for name in "${cases[@]}"; do
  dir=tests/conformance/cases/$name
  ctx=$WORK/ctx-$name
  rm -rf "$ctx" && mkdir -p "$ctx"
  [ -d "$dir/context" ] && cp -a "$dir/context/." "$ctx/"
  cp "$dir/Buildfile" "$ctx/Buildfile"
  [ -f "$dir/setup.sh" ] && (cd "$ctx" && sh "$src/$dir/setup.sh")
  args=$(sed -n 's/^args: //p' "$dir/case" | tr '\n' ' ')
  rm -rf "$WORK/out-i-$name" "$WORK/out-b-$name"
  i_rc=0 b_rc=0
  $docker version >/dev/null 2>&1 || { echo "(dockerd died: restarted)"; start_dockerd || { echo "dockerd does not start again" >&2; exit 1; }; }
  # shellcheck disable=SC2086
  "$imgbuild" build --root "$root" --network=none -t "case-$name" -o "type=local,dest=$WORK/out-i-$name" $args "$ctx" \
    >"$WORK/$name.imgbuild.log" 2>&1 || i_rc=$?
  # shellcheck disable=SC2086
  # A tar keeps owners (dockerd's type=local export writes every file as root).
  $docker build --network=none -f "$ctx/Buildfile" -o "type=tar,dest=$WORK/out-b-$name.tar" $args "$ctx" \
    >"$WORK/$name.buildkit.log" 2>&1 || b_rc=$?
  if [ "$b_rc" = 0 ]; then
    mkdir -p "$WORK/out-b-$name"
    tar --numeric-owner --same-owner -xpf "$WORK/out-b-$name.tar" -C "$WORK/out-b-$name" 2>/dev/null
  fi
  if [ "$i_rc" != 0 ] || [ "$b_rc" != 0 ]; then
    if [ "$i_rc" != 0 ] && [ "$b_rc" != 0 ]; then
      both_fail=$((both_fail + 1)); printf '%-50s both fail\n' "$name"
    else
      fail_one=$((fail_one + 1)); printf '%-50s DIFFER: imgbuild exit %s, BuildKit exit %s\n' "$name" "$i_rc" "$b_rc"
    fi
    continue
  fi
  # shellcheck disable=SC2086
  $docker build --network=none -q -f "$ctx/Buildfile" -t "case-$name" $args "$ctx" >/dev/null 2>&1 || true
  listing "$WORK/out-i-$name" >"$WORK/$name.fs.imgbuild"
  listing "$WORK/out-b-$name" >"$WORK/$name.fs.buildkit"
  "$imgbuild" inspect --root "$root" "case-$name" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["config"]))' |
    config_of >"$WORK/$name.cfg.imgbuild" || : >"$WORK/$name.cfg.imgbuild"
  # dockerd cannot `save` an image without layers: the config comes from inspect and history.
  {
    $docker image inspect "case-$name" --format '{{json .Config}}' 2>/dev/null || echo '{}'
    $docker history --no-trunc --format '{{json .CreatedBy}}' "case-$name" 2>/dev/null | tac
  } | python3 -c '
import json, sys
lines = sys.stdin.read().splitlines()
print(json.dumps({"config": json.loads(lines[0]) or {}, "history": [{"created_by": json.loads(l)} for l in lines[1:]]}))' |
    config_of >"$WORK/$name.cfg.buildkit" || : >"$WORK/$name.cfg.buildkit"
  fs_diff=$(diff "$WORK/$name.fs.buildkit" "$WORK/$name.fs.imgbuild" || true)
  cfg_diff=$(diff "$WORK/$name.cfg.buildkit" "$WORK/$name.cfg.imgbuild" || true)
  # Docker 20.10's BuildKit leaves the empty /dev, /proc and /sys a RUN mounted on in the layer
  # (current BuildKit removes its mount stubs, as imgbuild does): counted apart.
  stub_only=$(grep -E '^[<>]' <<<"$fs_diff" | grep -vE '^< /(dev|proc|sys) d 0755 0:0 $' || true)
  if [ -z "$fs_diff" ] && [ -z "$cfg_diff" ]; then
    same=$((same + 1)); printf '%-50s same\n' "$name"
  elif [ -z "$stub_only" ] && [ -z "$cfg_diff" ]; then
    same_stubs=$((same_stubs + 1)); printf '%-50s same but for the RUN stubs /dev /proc /sys BuildKit 20.10 leaves\n' "$name"
  else
    differ=$((differ + 1))
    { echo "# < BuildKit, > imgbuild"; echo "$fs_diff"; echo "$cfg_diff"; } >"$WORK/$name.diff"
    printf '%-50s DIFFER: rootfs %s lines, config %s lines (%s)\n' "$name" \
      "$(grep -c '^[<>]' <<<"$fs_diff" || true)" "$(grep -c '^[<>]' <<<"$cfg_diff" || true)" "$WORK/$name.diff"
  fi
done
echo "cases: ${#cases[@]}  same: $same  same but for the stubs: $same_stubs  both fail: $both_fail  differ: $differ  one fails: $fail_one  (details in $WORK)"
