#!/usr/bin/env bash
# Prepares a build context for a busybox base image from Debian's busybox-static: DEST/rootfs
# holds /bin/busybox, a symlink per applet, and a small /etc (users root, app and nobody).
# BUSYBOX (default /bin/busybox) may be another architecture's binary (scripts/foreign-busybox.sh
# unpacks them); the applets are listed by the host's, the same Debian version.
# Usage: testdata/busybox/make-context.sh DEST [BUSYBOX]
set -euo pipefail
dest=${1:?usage: make-context.sh DEST [BUSYBOX]}
busybox=${2:-/bin/busybox}
[ -f "$busybox" ] || { echo "make-context: $busybox missing (apt-get install busybox-static)" >&2; exit 1; }
[ -x /bin/busybox ] || { echo "make-context: /bin/busybox missing (apt-get install busybox-static)" >&2; exit 1; }
rm -rf "$dest"
mkdir -p "$dest/rootfs"/{bin,etc,tmp,root,home/app,var/log}
cp "$busybox" "$dest/rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ "$applet" = busybox ] || ln -s busybox "$dest/rootfs/bin/$applet"
done
chmod 1777 "$dest/rootfs/tmp"
chmod 0700 "$dest/rootfs/root"
cat > "$dest/rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
app:x:1000:1000:app:/home/app:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > "$dest/rootfs/etc/group" <<'GROUP'
root:x:0:
staff:x:50:app
app:x:1000:
nogroup:x:65534:
GROUP
echo "imgbuild busybox base" > "$dest/rootfs/etc/motd"
cp "$(dirname "$0")/Buildfile" "$dest/Buildfile"
