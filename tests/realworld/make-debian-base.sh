#!/usr/bin/env bash
# Makes the Debian base of the real-world tests: `debootstrap --variant=minbase bookworm` from
# Debian's archive (IMGBUILD_DEBIAN_MIRROR, default http://deb.debian.org/debian), packed as a
# build context whose Buildfile is `FROM scratch` + `ADD debian.tar /`. Reused when it exists.
# Usage: tests/realworld/make-debian-base.sh OUT_DIR   (OUT_DIR/context is the build context)
set -euo pipefail
out=${1:?usage: make-debian-base.sh OUT_DIR}
mirror=${IMGBUILD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
if [ -f "$out/context/debian.tar" ]; then exit 0; fi
command -v debootstrap >/dev/null || { echo "debootstrap is missing (scripts/setup.sh installs it)" >&2; exit 1; }
mkdir -p "$out"
# ctest starts every case at once: one makes the base while the others wait for it.
exec 9>"$out/.lock"
flock 9
if [ -f "$out/context/debian.tar" ]; then exit 0; fi
# A download can fail on a busy mirror: try three times before giving up.
for attempt in 1 2 3; do
  rm -rf "$out/rootfs" "$out/context.tmp"
  if debootstrap --variant=minbase bookworm "$out/rootfs" "$mirror" >"$out/debootstrap.log" 2>&1; then break; fi
  if [ "$attempt" = 3 ]; then tail -20 "$out/debootstrap.log" >&2; exit 1; fi
  sleep 5
done
mkdir -p "$out/context.tmp"
# Device nodes, /proc, /sys and the downloaded packages stay out: the sandbox makes /dev.
tar --numeric-owner --xattrs -C "$out/rootfs" --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' \
  --exclude='./var/cache/apt/archives/*.deb' -cf "$out/context.tmp/debian.tar" .
printf 'FROM scratch\nADD debian.tar /\nCMD ["bash"]\n' >"$out/context.tmp/Buildfile"
rm -rf "$out/rootfs"
mv "$out/context.tmp" "$out/context"
