#!/usr/bin/env bash
# The main job: set up, build imgbuild, and show what it makes of the demo Buildfile in
# testdata/demo (its parse tree and its build outline).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh build >/dev/null
echo "== imgbuild parse testdata/demo"
build/imgbuild parse testdata/demo
echo
echo "== imgbuild outline --build-arg VERSION=2.0 testdata/demo"
build/imgbuild outline --build-arg VERSION=2.0 testdata/demo
