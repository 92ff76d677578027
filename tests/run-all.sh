#!/usr/bin/env bash
# Build mnv2 in ./build and run the whole test suite: the README's test command.
# Installs the Debian packages the tests need first, but only those that are missing.
# MNV2_BUILD_DIR picks another build directory; CC / CXX pick the compilers of a fresh one.
set -euo pipefail
cd "$(dirname "$0")/.."

bash .ci/ensure-packages gcc g++ libc6-dev binutils python3 meson ninja-build pkg-config \
  libcmocka-dev zlib1g-dev libpng-dev python3-numpy python3-pytest

build=${MNV2_BUILD_DIR:-build}
if [ -f "$build/build.ninja" ]; then
  meson setup --reconfigure "$build"
else
  meson setup "$build"
fi
meson compile -C "$build"
meson test -C "$build" --print-errorlogs
