#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# CI stage: the Rust crates (rust/) with Debian 12's cargo, rustc and bindgen, offline.
#   1. builds the library (the README's ./build, already built in CI) and installs it into a
#      staging directory;
#   2. builds and tests mnv2-sys and mnv2 against the installed library, found through
#      PKG_CONFIG_PATH (as a user of an installed libmnv2 would), warnings denied;
#   3. regenerates the bindings from the headers and fails on any difference;
#   4. cargo doc with warnings denied (the safe crate denies missing docs);
#   5. the example on Debian's dataset-fashion-mnist (a short run);
#   6. meson's suite 'rust' (what the README's test command runs), which must not skip here.
# Budget: 4 minutes on 2 cores (measured 3m41s wall, 54 s of CPU, on a shared machine at load 18).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export DEBIAN_FRONTEND=noninteractive
t0=$SECONDS
step() { printf -- '--- [%4ds] %s\n' "$((SECONDS - t0))" "$*"; }

step "packages"
bash .ci/ensure-packages gcc libc6-dev meson ninja-build pkg-config libcmocka-dev gzip \
  cargo rustc bindgen rustfmt libclang-dev dataset-fashion-mnist

export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
CARGO=/usr/bin/cargo
/usr/bin/rustc --version
$CARGO --version

step "library: build (the README's build directory) and install into a staging directory"
# In CI the README's test command has built ./build already: only the install is new here.
build=${MNV2_BUILD_DIR:-build}
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" -Ddocs=disabled
fi
meson compile -C "$build"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
meson install -C "$build" --destdir "$stage" >/dev/null
pcdir=$(dirname "$(find "$stage" -name mnv2.pc | head -n 1)")
# pkg-config prefixes every -L with the staging root, as for any staged install.
export PKG_CONFIG_SYSROOT_DIR="$stage"
libdir=$(PKG_CONFIG_PATH="$pcdir" pkg-config --variable=libdir mnv2)
test -e "$libdir/libmnv2.so"

step "crates against the installed library (pkg-config)"
export CARGO_HOME="$root/$build/rust-ci/cargo-home" CARGO_TARGET_DIR="$root/$build/rust-ci/target"
export PKG_CONFIG_PATH="$pcdir"
export LD_LIBRARY_PATH="$libdir"
unset MNV2_LIB_DIR
cargo=("$CARGO" --offline --locked)
man=(--manifest-path rust/Cargo.toml --workspace)
export RUSTFLAGS="-D warnings"
"${cargo[@]}" test "${man[@]}"  # builds the example too

step "bindings: regenerate from the headers and compare"
bash rust/mnv2-sys/regen.sh --check

step "cargo doc (warnings denied)"
RUSTDOCFLAGS="-D warnings" "${cargo[@]}" doc "${man[@]}" --no-deps
test -f "$CARGO_TARGET_DIR/doc/mnv2/index.html"

# A smoke run (8 steps on 256 images): that the example builds, reads the Debian dataset and
# trains; its accuracy after so few steps is not checked (see the README for a longer run).
step "example: a short run on Debian's Fashion-MNIST"
"${cargo[@]}" run --manifest-path rust/Cargo.toml -p mnv2 \
  --example train -- --limit 256 --test-limit 256 --batch 32 | tee "$stage/train.log"
grep -q 'top-1' "$stage/train.log"

step "meson suite 'rust' (the README's test command runs it): must run, not skip"
unset PKG_CONFIG_PATH PKG_CONFIG_SYSROOT_DIR LD_LIBRARY_PATH CARGO_HOME CARGO_TARGET_DIR RUSTFLAGS
meson test -C "$build" --suite rust --print-errorlogs | tee "$stage/suite.log"
if grep -q 'SKIP' "$stage/suite.log"; then
  echo "suite 'rust' skipped a test although cargo, rustc and bindgen are installed" >&2
  exit 1
fi
step "done"
