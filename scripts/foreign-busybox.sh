#!/usr/bin/env bash
# Debian's busybox-static for other architectures, for the multi-platform tests: adds the dpkg
# architecture when missing, fetches the package with apt (the only download tests make) and
# unpacks DEST/ARCH/busybox. Idempotent: what is there already is kept.
# Usage: scripts/foreign-busybox.sh DEST ARCH...   (Debian names: arm64 armhf ppc64el s390x riscv64)
set -euo pipefail
dest=${1:?usage: foreign-busybox.sh DEST ARCH...}
shift
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
need=()
for arch in "$@"; do
  [ -s "$dest/$arch/busybox" ] || need+=("$arch")
done
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "foreign-busybox: not root; cannot add dpkg architectures ${need[*]}" >&2
  exit 1
fi
# Every architecture is added before the one index update (one added after it has no index).
for arch in "${need[@]}"; do
  if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
    dpkg --add-architecture "$arch"
  fi
done
updated=no
for arch in "${need[@]}"; do
  if [ "$(apt-cache policy "busybox-static:$arch" 2>/dev/null | sed -n 's/ *Candidate: //p')" = "" ]; then
    # A mirror mid-sync can fail one index; what arrived is enough when the package's did.
    apt-get update -qq || echo "foreign-busybox: apt-get update reported errors; trying with what arrived" >&2
    updated=yes
    break
  fi
done
for arch in "${need[@]}"; do
  work=$(mktemp -d)
  chown _apt "$work" 2>/dev/null || true
  for attempt in 1 2 3; do  # a mirror can fail one request
    (cd "$work" && apt-get download -qq "busybox-static:$arch" >/dev/null 2>&1) && break
    [ $attempt = 3 ] && { echo "foreign-busybox: apt-get download busybox-static:$arch failed 3 times" >&2; exit 1; }
    [ $updated = no ] && { apt-get update -qq || true; updated=yes; }
    sleep 2
  done
  deb=$(ls "$work"/busybox-static_*_"$arch".deb)
  dpkg-deb -x "$deb" "$work/x"
  mkdir -p "$dest/$arch"
  cp "$work/x/bin/busybox" "$dest/$arch/busybox.tmp"
  mv "$dest/$arch/busybox.tmp" "$dest/$arch/busybox"
  rm -rf "$work"
  echo "foreign-busybox: $dest/$arch/busybox"
done
