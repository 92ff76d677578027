#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# CI stage "house": what a distribution and a new user rely on. Runs after the README's test
# command (./build exists, built with its debug information) and the docs stage. Budget: 8 minutes
# on 2 cores. Steps:
#   1. SPDX line in every source file
#   2. ABI gate: build/lib/libmnv2.so against abi/libmnv2-0.1.0.abi (tests/abi/abidiff.sh)
#   3. the README's shell blocks (tests/readme/readme.py sh: runs those not covered elsewhere)
#   4. `meson dist` tarball, built with Debian's hardening flags (dpkg-buildflags) as a package
#      would be, tested (but suites slow, onnx, rust, python, mpi), hardening checked, installed
#   5. the examples built against that installed mnv2 with pkg-config only, and run
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
step() { printf '\n--- [%4ds] house: %s\n' "$SECONDS" "$*"; }
bash .ci/ensure-packages abigail-tools dpkg-dev python3-pytest groff-base doxygen libpng-dev zlib1g-dev make

step "SPDX-License-Identifier in every source file"
# image/imagenet_classes.txt is data (one class name a line, read as such), not source.
missing=$(git ls-files | grep -E '\.(c|h|inc|cpp|in|py|sh|txt|map|rs)$|(^|/)(meson\.build|Makefile)$|^\.ci/' \
  | grep -v -x 'image/imagenet_classes.txt' | while read -r f; do grep -q 'SPDX-License-Identifier: BSD-2-Clause' "$f" || echo "$f"; done)
if [ -n "$missing" ]; then
  echo "no SPDX-License-Identifier line in:"; echo "$missing"; exit 1
fi

step "ABI: build/lib/libmnv2.so against the 0.1.0 release (abidiff)"
[ -f build/build.ninja ] || meson setup build
ninja -C build >/dev/null
bash tests/abi/abidiff.sh abi/libmnv2-0.1.0.abi build/lib/libmnv2.so "$root/include" abi/mnv2.abignore

step "README: its shell blocks"
python3 tests/readme/readme.py sh README.md

step "meson dist, built and tested with Debian's hardening flags"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
meson dist -C build --no-tests --formats xztar --allow-dirty
tarball=$(ls build/meson-dist/mnv2-*.tar.xz)
tar -C "$work" -xf "$tarball"
src=$(echo "$work"/mnv2-*)
prefix=$work/prefix
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
(
  cd "$src"
  CFLAGS=$(dpkg-buildflags --get CFLAGS) CXXFLAGS=$(dpkg-buildflags --get CXXFLAGS) \
    CPPFLAGS=$(dpkg-buildflags --get CPPFLAGS) LDFLAGS=$(dpkg-buildflags --get LDFLAGS) \
    meson setup build-dist --buildtype=plain --prefix "$prefix" -Ddocs=disabled >/dev/null
  ninja -C build-dist >/dev/null
  # Suites onnx, rust, python and mpi have their own stages (ONNX Runtime comes from npm there).
  meson test -C build-dist --no-suite slow --no-suite onnx --no-suite rust --no-suite python --no-suite mpi \
    --print-errorlogs --num-processes 2 >"$work/test.log" \
    || { cat "$work/test.log"; exit 1; }
  tail -n 8 "$work/test.log"
  # Everything the stage installed is there: a skipped test here is a failure.
  grep -Eq '^Skipped: +0 *$' "$work/test.log" || { grep -E 'SKIP' "$work/test.log"; echo "tests skipped"; exit 1; }
)
dist=$src/build-dist

step "hardening: the distribution's flags reach every compile, and their symbols are there"
python3 - "$dist/compile_commands.json" <<'PY'
import json, sys
bad = []
for e in json.load(open(sys.argv[1])):
    cmd = e['command']
    if '-fstack-protector-strong' not in cmd or '-D_FORTIFY_SOURCE=' not in cmd:
        bad.append('missing hardening flags: ' + e['file'])
    for undo in ('-fno-stack-protector', '-U_FORTIFY_SOURCE', '-D_FORTIFY_SOURCE=0'):
        if undo in cmd:
            bad.append(f'{undo}: ' + e['file'])
print('\n'.join(bad) or 'every compile command keeps -fstack-protector-strong and -D_FORTIFY_SOURCE')
sys.exit(1 if bad else 0)
PY
lib=$dist/lib/libmnv2.so
# (Outputs captured first: `cmd | grep -q` can fail under pipefail when grep stops reading early.)
imports=$(nm -D --undefined-only "$lib")
grep -q ' __stack_chk_fail' <<<"$imports" || { echo "$lib: no __stack_chk_fail"; exit 1; }
chk=$(for f in "$lib" "$dist"/tools/{mnv2-train,mnv2-infer,mnv2-summary,mnv2-bench,idx2pgm,mnv2-convert}; do
         nm -D --undefined-only "$f"; done | awk '{print $2}' \
      | grep -E '^__[a-z0-9_]+_chk(@|$)' | sort -u | tr '\n' ' ')
[ -n "$chk" ] || { echo "no _FORTIFY_SOURCE (__*_chk) function imported by the library or the tools"; exit 1; }
echo "stack protector: __stack_chk_fail; _FORTIFY_SOURCE: $chk"
dynamic=$(readelf -d "$lib")
grep -q 'BIND_NOW' <<<"$dynamic" || { echo "$lib: not linked with -z now"; exit 1; }

step "install, then the examples against the installed mnv2 (pkg-config only)"
meson install -C "$dist" --quiet >/dev/null
pcdir=$(dirname "$(find "$prefix" -name mnv2.pc | head -n 1)")
export PKG_CONFIG_PATH=$pcdir
libdir=$(pkg-config --variable=libdir mnv2)
for page in man1/mnv2-train.1 man1/mnv2-infer.1 man1/mnv2-summary.1 man1/mnv2-bench.1 man1/idx2pgm.1 man1/mnv2-convert.1 man3/mnv2.3; do
  [ -f "$prefix/share/man/$page" ] || { echo "not installed: share/man/$page"; exit 1; }
done
LD_LIBRARY_PATH=$libdir "$prefix/bin/mnv2-summary" --preset reduced | tail -n 3
ex=$work/examples
make -C examples O="$ex" CC=gcc CFLAGS="-O2 -g -Wall -Wextra -Werror" LDFLAGS="-Wl,-rpath,$libdir" --no-print-directory
# A CIFAR-10 directory in the real layout with 40 random images per file (the format is what is
# exercised here, not the learning).
python3 - "$work/cifar" <<'PY'
import os, random, sys
d = sys.argv[1]; os.makedirs(d)
rng = random.Random(1)
def batch(n):
    return b''.join(bytes([i % 10]) + bytes(rng.randrange(256) for _ in range(3072)) for i in range(n))
for k in range(1, 6):
    open(f'{d}/data_batch_{k}.bin', 'wb').write(batch(40))
open(f'{d}/test_batch.bin', 'wb').write(batch(40))
img = bytes(rng.randrange(256) for _ in range(32 * 32 * 3))
open(f'{d}/image.ppm', 'wb').write(b'P6\n32 32\n255\n' + img)
PY
(cd "$work" && "$ex/train_cifar" cifar 1 && "$ex/classify" cifar.mnv2 cifar/image.ppm)
"$ex/readme_api"
echo "house: done in ${SECONDS}s"
