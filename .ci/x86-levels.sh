#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# CI stage: the library on every x86 CPU level and build shape (issue "Runs on every x86-64 CPU").
#   1. the suite under qemu-x86_64 -cpu max | Nehalem | core2duo: the detected level must be
#      avx2 | sse41 | scalar (TCG has no AVX-512) and no test may die of SIGILL or fail;
#   2. a -Dsimd=disabled build (scalar kernels only) and its tests;
#   3. a 32-bit x86 build (gcc -m32, cross/i686-linux-gnu.txt) and its tests, natively where the
#      kernel runs i386 programs, else under qemu-i386.
# Under qemu only a subset runs (TCG is 10-50x slower): the kernel tests (every kernel at every
# level the emulated CPU has, against scalar), the API, counts, batch-norm and gradient checks,
# the MNV2_ISA error tests, the size checks (robust_sizes: extreme configurations, a file that
# claims absurd resources) and the data readers and batches. Left out there: threads, robust and
# io_format (minutes of training under emulation; they run natively in the other stages, and
# threads and robust at every forced level in .ci/run; robust's fork test also trips a qemu-user
# assertion when the child starts threads), and suites slow, torch and abi.
# Budget: 10 minutes on 2 cores (12m50s measured with the 32-bit tests emulated, on a VM with a
# load average of 14; natively they take a fraction of that). x86-64 hosts only.
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(uname -m)" = x86_64 ] || { echo "x86-levels: needs an x86-64 host"; exit 1; }
if ! dpkg --print-foreign-architectures | grep -qx i386; then
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" dpkg --add-architecture i386
  bash .ci/apt-update
fi
bash .ci/ensure-packages gcc g++ libc6-dev meson ninja-build pkg-config libcmocka-dev qemu-user \
  gcc-multilib g++-multilib libcmocka-dev:i386

t0=$SECONDS
step() { printf '\n--- [%4ds] %s\n' "$((SECONDS - t0))" "$*"; }
# gradcheck is left out under emulation (minutes each); it runs natively at every level in .ci/run.
qemu_tests=(kernels api counts bn isa_env_unknown isa_env_foreign robust_sizes io_readers io_batches)

build=${MNV2_BUILD_DIR:-build}
step "native build ($build)"
[ -f "$build/build.ninja" ] || meson setup "$build" -Ddocs=disabled
meson compile -C "$build"

for pair in max:avx2 Nehalem:sse41 core2duo:scalar; do
  cpu=${pair%%:*} want=${pair#*:}
  step "qemu-x86_64 -cpu $cpu (expect $want)"
  got=$(qemu-x86_64 -cpu "$cpu" "$build/tests/print_isa")
  echo "detected: $got"
  [ "$got" = "$want" ] || { echo "expected $want under -cpu $cpu, got $got"; exit 1; }
  meson test -C "$build" --no-rebuild --print-errorlogs --wrapper "qemu-x86_64 -cpu $cpu" "${qemu_tests[@]}"
done

step "-Dsimd=disabled: build and tests"
[ -f build-nosimd/build.ninja ] || meson setup build-nosimd -Dsimd=disabled -Ddocs=disabled -Dtools=disabled
meson compile -C build-nosimd
got=$(build-nosimd/tests/print_isa)
echo "nosimd build, CPU level: $got (the kernels are scalar whatever it says)"
meson test -C build-nosimd --print-errorlogs --no-suite slow --no-suite torch --no-suite abi \
  --no-suite rust --no-suite python --no-suite mpi

step "32-bit x86 (gcc -m32): build and tests"
[ -f build-i686/build.ninja ] || meson setup build-i686 --cross-file cross/i686-linux-gnu.txt -Ddocs=disabled -Dtools=disabled
meson compile -C build-i686
if build-i686/tests/print_isa >/dev/null 2>&1; then
  echo "i386 programs run natively: level $(build-i686/tests/print_isa)"
  meson test -C build-i686 --print-errorlogs --no-suite slow --no-suite torch --no-suite abi
else
  echo "this kernel does not run i386 programs: tests under qemu-i386 (level $(qemu-i386 build-i686/tests/print_isa))"
  meson test -C build-i686 --no-rebuild --print-errorlogs --wrapper qemu-i386 "${qemu_tests[@]}"
fi
step "done"
