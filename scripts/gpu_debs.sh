#!/usr/bin/env bash
# Downloads, on this machine (which has apt and a network), the Debian packages of the build dependencies that
# the GPU machine's image may lack, into build/gpu-debs, so that a device call can carry them (`carry:
# ["build/gpu-debs"]`). scripts/gpu_check.sh unpacks them there with `dpkg -x` into build/gpu-deps and points
# pkg-config and CMake at that prefix; nothing is installed on either machine.
#   scripts/gpu_debs.sh [PACKAGE...]      default: PCRE2 and utf8proc (headers, .so links and their libraries)
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$repo_root/build/gpu-debs"
# The runtime libraries come along because the -dev packages' libfoo.so links point at them: unpacked into one
# prefix the links then resolve there, whatever the image has.
packages=("$@")
[ ${#packages[@]} -gt 0 ] || packages=(libpcre2-dev libpcre2-8-0 libutf8proc-dev libutf8proc2)

mkdir -p "$out"
cd "$out"
rm -f ./*.deb
# `apt-get download` needs only package lists, no root: refresh them if it cannot find a package.
apt-get download "${packages[@]}" 2>/dev/null || { apt-get update -qq && apt-get download "${packages[@]}"; }
ls -l ./*.deb
echo "gpu_debs: $(du -sh . | cut -f1) in $out; name build/gpu-debs in the device call's carry"
