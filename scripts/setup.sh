#!/usr/bin/env bash
# Installs what imgbuild needs on Debian 12 (only what is missing), then configures and builds.
# Usage: scripts/setup.sh [BUILD_DIR]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build}

packages=(
  cmake ninja-build g++ clang libclang-rt-14-dev pkg-config
  tao-pegtl-dev libarchive-dev libssl-dev libzstd-dev zlib1g-dev nlohmann-json3-dev
  libcurl4-openssl-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev libseccomp-dev passt
  busybox-static umoci skopeo oci-image-tool python3 podman runc openssh-client procps
  docker-registry apache2-utils openssl git debootstrap tmux bsdutils qemu-user-static
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing packages and not root; run as root or install: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || echo "setup: apt-get update reported errors; installing with what arrived" >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The multi-platform tests' bases: busybox-static of arm64 and armhf (linux/arm64, linux/arm/v7).
if [ "$(id -u)" -eq 0 ]; then
  scripts/foreign-busybox.sh "$build_dir/foreign" arm64 armhf
fi

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" -j "$(nproc)"
