#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Build mnv2 in ./build and run the whole test suite: the README's test command.
# Installs the Debian packages the tests need first, but only those that are missing.
# MNV2_BUILD_DIR picks another build directory; CC / CXX pick the compilers of a fresh one.
set -euo pipefail
cd "$(dirname "$0")/.."

# doxygen: the README's `ninja -C build docs` works after this command; python3-pytest and
# groff-base: the tools' tests (suite 'tools'); abigail-tools: the 'abidiff' ABI test.
bash .ci/ensure-packages gcc g++ libc6-dev binutils python3 meson ninja-build pkg-config \
  libcmocka-dev zlib1g-dev libpng-dev doxygen python3-pytest groff-base abigail-tools

# MNV2_SETUP_ARGS: extra `meson setup` options (CI passes -Dwerror=true).
build=${MNV2_BUILD_DIR:-build}
read -r -a setup_args <<<"${MNV2_SETUP_ARGS:-}"
if [ -f "$build/build.ninja" ]; then
  meson setup --reconfigure "$build" "${setup_args[@]}"
else
  meson setup "$build" "${setup_args[@]}"
fi
meson compile -C "$build"
meson test -C "$build" --print-errorlogs
