#!/usr/bin/env bash
# Seed corpora for the fuzz targets: small layers (plain, gzip; symlinks, hardlinks, whiteouts,
# `..`) for applier_fuzz, and a tiny image saved in both formats by build/imgbuild for load_fuzz.
# Usage: tests/fuzz/make_seeds.sh APPLIER_DIR LOAD_DIR   (from the repository root)
set -euo pipefail
applier=${1:?} load=${2:?}
mkdir -p "$applier" "$load"
python3 - "$applier" <<'PY'
import gzip, io, sys, tarfile
out = sys.argv[1]
def tar(entries):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, kind, arg in entries:
            i = tarfile.TarInfo(name)
            if kind == "dir": i.type = tarfile.DIRTYPE
            elif kind == "sym": i.type, i.linkname = tarfile.SYMTYPE, arg
            elif kind == "hard": i.type, i.linkname = tarfile.LNKTYPE, arg
            data = arg.encode() if kind == "file" else b""
            i.size = len(data)
            t.addfile(i, io.BytesIO(data))
    return b.getvalue()
layers = {
    "plain": [("etc/", "dir", ""), ("etc/passwd", "file", "root:x:0:0\n"), ("bin/sh", "file", "#!")],
    "links": [("a", "file", "x"), ("b", "hard", "a"), ("l", "sym", "/etc"), ("d/", "dir", "")],
    "whiteouts": [("d/", "dir", ""), ("d/.wh.gone", "file", ""), ("d/.wh..wh..opq", "file", "")],
    "escape": [("../x", "file", "x"), ("l", "sym", "../../"), ("l/y", "file", "y")],
}
for name, entries in layers.items():
    data = tar(entries)
    for mode in (0, 1, 3):
        open(f"{out}/{name}-{mode}", "wb").write(bytes([mode]) + data)
    open(f"{out}/{name}-gz", "wb").write(bytes([1]) + gzip.compress(data, mtime=0))
PY
if [ -x build/imgbuild ] && [ "$(id -u)" = 0 ]; then
  tmp=$(mktemp -d)
  mkdir -p "$tmp/ctx"
  echo hello >"$tmp/ctx/f"
  printf 'FROM scratch\nCOPY f /f\nENV A=1\n' >"$tmp/ctx/Buildfile"
  build/imgbuild build --root "$tmp/root" -t seed:1 "$tmp/ctx" >/dev/null 2>&1
  build/imgbuild save --root "$tmp/root" seed:1 -o "$load/oci.tar" --format oci >/dev/null 2>&1 || true
  build/imgbuild save --root "$tmp/root" seed:1 -o "$load/docker.tar" --format docker >/dev/null 2>&1 || true
  rm -rf "$tmp"
fi
