#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# CI stage: data-parallel mnv2-train over MPI. Installs Open MPI, builds with -Dmpi=enabled and
# runs meson suite 'mpi' (mpirun -np 2 and -np 3 on loopback, as root); fails if any test there is
# skipped. Budget: 4 minutes on 2 cores (measured: 1 min 43 s with ./build reused, on a busy machine).
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/ensure-packages openmpi-bin libopenmpi-dev python3 meson ninja-build pkg-config \
  libcmocka-dev zlib1g-dev
# Reuses the README's build directory (./build, already compiled by an earlier stage) when there is
# one: only mnv2-train and the test helper are rebuilt. Otherwise a fresh ./build-mpi.
build=build-mpi
[ -f build/build.ninja ] && build=build
if [ -f $build/build.ninja ]; then
  meson setup --reconfigure $build -Dmpi=enabled
else
  meson setup $build -Dmpi=enabled -Ddocs=disabled
fi
ninja -C $build tools/mnv2-train tests/mpi/compare_models
log=$build/mpi-tests.txt
meson test -C $build --suite mpi --print-errorlogs --no-rebuild 2>&1 | tee "$log"
grep -Eq '^Skipped: +0 *$' "$log" || { echo "mpi: a test was skipped (MPI missing?)" >&2; exit 1; }
grep -Eq '^Ok: +6 *$' "$log" || { echo "mpi: not every test passed" >&2; exit 1; }
