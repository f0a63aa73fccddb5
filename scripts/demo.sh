#!/usr/bin/env bash
# The main job: set up, build imgbuild, build a busybox base image (from Debian's busybox-static)
# and the multi-stage demo app image on it (RUN steps in the sandbox, a cache mount) into a demo
# state dir, export the app as an OCI layout and a rootfs, and show what was built and run it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build >/dev/null
root=$PWD/build/demo-root
rm -rf "$root" build/demo-busybox build/demo-oci build/demo-rootfs
testdata/busybox/make-context.sh build/demo-busybox
echo "== imgbuild outline testdata/demo"
build/imgbuild outline testdata/demo
echo
echo "== building busybox:local"
build/imgbuild build --root "$root" -t busybox:local build/demo-busybox
echo
echo "== building demo:1.0 on it"
build/imgbuild build --root "$root" -t demo:1.0 --build-arg VERSION=1.0 \
  -o type=oci,dest=build/demo-oci,tar=false -o type=local,dest=build/demo-rootfs testdata/demo
echo
echo "== imgbuild images"
build/imgbuild images --root "$root"
echo
echo "== the demo image's config"
build/imgbuild inspect --root "$root" demo:1.0 | python3 -c '
import json, sys
d = json.load(sys.stdin)
c = d["config"]
print("digest:      ", d["digest"])
print("layers:      ", len(d["manifest"]["layers"]))
for k in ("User", "WorkingDir", "Env", "Entrypoint", "Cmd", "ExposedPorts", "Labels", "Healthcheck"):
    print("%-13s" % (k + ":"), json.dumps(c["config"].get(k)))
print("history:")
for h in c["history"]:
    print("   ", h["created_by"], "(no layer)" if h.get("empty_layer") else "")
'
echo
echo "== the image's entrypoint, run in its exported rootfs (chroot, as user app):"
chroot --userspec=1000:1000 build/demo-rootfs /app/bin/hello --greet world
echo
echo "== OCI layout written to build/demo-oci:"
cat build/demo-oci/index.json; echo
