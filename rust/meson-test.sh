#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# meson test 'rust' (suite 'rust'): builds and tests the crates against this build tree's
# libmnv2.so, with Debian's cargo and rustc, offline. Exit 77 (skipped) without them.
#   rust/meson-test.sh LIB_DIR WORK_DIR
# LIB_DIR holds libmnv2.so (MNV2_LIB_DIR of mnv2-sys); WORK_DIR receives CARGO_HOME and the
# target directory (inside the meson build directory).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
CARGO=${CARGO:-/usr/bin/cargo}
if [ ! -x "$CARGO" ] || [ ! -x /usr/bin/rustc ]; then
  echo "skipped: $CARGO or /usr/bin/rustc not found (apt-get install cargo rustc)"
  exit 77
fi
lib=$(cd "$1" && pwd)
mkdir -p "$2"
work=$(cd "$2" && pwd)
export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
export CARGO_HOME="$work/cargo-home" CARGO_TARGET_DIR="$work/target"
export MNV2_LIB_DIR="$lib" LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
exec "$CARGO" test --offline --locked --manifest-path "$here/Cargo.toml" --workspace
