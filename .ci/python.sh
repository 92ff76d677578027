#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# CI stage: the Python package (python/). Runs after the README's test command built ./build.
#   1. its pytest suite (meson test 'python') with nothing skipped: torch installed, c_step built
#   2. `pip install ./python` offline into a venv (numpy, setuptools from Debian), the suite's
#      input checks against the installed copy
#   3. `meson install` with -Dpython=enabled into a fresh prefix: the package is in site-packages
#      and finds that prefix's libmnv2 without MNV2_LIBRARY
# Budget: 3 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bash .ci/ensure-packages python3 python3-numpy python3-pytest python3-setuptools python3-venv python3-pip \
  python3-torch python3-torchvision meson ninja-build gcc

echo "--- pytest suite, no skips allowed"
MNV2_PYTHON_NO_SKIP=1 meson test -C build --suite python --print-errorlogs

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "--- pip install ./python (offline, Debian's setuptools and numpy)"
/usr/bin/python3 -m venv --system-site-packages "$tmp/venv"
# from a copy: setuptools writes build/ and *.egg-info beside the sources
cp -r python "$tmp/src"
"$tmp/venv/bin/pip" install --quiet --no-build-isolation --no-index "$tmp/src"
(cd "$tmp" && MNV2_TEST_INSTALLED=1 MNV2_PYTHON_NO_SKIP=1 MNV2_LIBRARY="$root/build/lib/libmnv2.so.0" \
  "$tmp/venv/bin/python" -m pytest -q -p no:cacheprovider "$root/python/tests/test_inputs.py")
MNV2_LIBRARY="$root/build/lib/libmnv2.so.0" "$tmp/venv/bin/python" -c 'import mnv2, sys; assert mnv2.__file__.startswith(sys.prefix), mnv2.__file__'

echo "--- meson install -Dpython=enabled into a fresh prefix"
meson setup "$tmp/build" --prefix "$tmp/prefix" -Dtests=false -Dtools=disabled -Ddocs=disabled \
  -Dsimd=disabled -Dpython=enabled >/dev/null
meson install -C "$tmp/build" --quiet
pkg=$(find "$tmp/prefix" -path '*-packages/mnv2/__init__.py' -printf '%h\n')
[ -n "$pkg" ] && [ -f "$pkg/_paths.py" ] || { echo "mnv2 not installed into site-packages"; exit 1; }
(cd "$tmp" && env -u MNV2_LIBRARY PYTHONPATH="$(dirname "$pkg")" /usr/bin/python3 -c '
import mnv2, sys
assert mnv2.library_path.startswith(sys.argv[1]), mnv2.library_path
m = mnv2.Model("reduced", threads=1, max_batch=1)
print("installed package", mnv2.__file__, "uses", mnv2.library_path, m)' "$tmp/prefix")
