#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# CI stage (from .ci/run): ThreadSanitizer on the thread pool and training tests, then libFuzzer
# on every parser of outside data. Budget: about 10 minutes on 2 cores (fuzzing: 8 targets x 60 s
# = 8 minutes; the image decoder is fuzzed by .ci/images.sh). The whole CI job took 29 minutes
# on an idle 2-core machine with 30 s per target, so 60 s keeps it under its 40-minute budget.
#   FUZZ_SECONDS  seconds per target (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
stage() { printf '\n=== [%4ds] %s\n' "$SECONDS" "$*"; }
bash .ci/ensure-packages clang libclang-rt-14-dev zlib1g-dev libpng-dev meson ninja-build libcmocka-dev

stage "torch_compare must run here (CI installs torch): a skip is a failure"
if [ -f build/build.ninja ]; then
  MNV2_REQUIRE_TORCH=1 meson test -C build --no-rebuild --print-errorlogs --suite torch
fi

stage "clang ThreadSanitizer: thread pool, API and training tests"
CC=clang meson setup build-tsan -Db_sanitize=thread -Db_lundef=false -Dbuildtype=debugoptimized \
  -Ddocs=disabled -Dtools=disabled >/dev/null
meson compile -C build-tsan tests/test_threads tests/test_api tests/test_finite
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1"
for t in threads api finite; do
  echo "--- $t"
  "build-tsan/tests/test_$t"
done

stage "libFuzzer (clang, ASan + UBSan): ${FUZZ_SECONDS:-60} s per target"
# Scalar kernels only (-Dsimd=disabled): the parsers use none, and instrumenting the SIMD kernels
# takes minutes.
CC=clang meson setup build-fuzz -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized \
  -Dc_args=-fsanitize=fuzzer-no-link -Dsimd=disabled -Ddocs=disabled -Dtools=disabled -Dtests=false >/dev/null
ninja -C build-fuzz lib/libmnv2.a # the static library (and its kernel libraries) only
shopt -s nullglob
lib=(build-fuzz/lib/libmnv2.a build-fuzz/lib/kernels/*.a)
shopt -u nullglob
flags=(-O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -D_GNU_SOURCE
       -Iinclude -Ilib -Itools -Itests/fuzz)
mkdir -p build-fuzz/bin
build_target() { # name sources...
  local name=$1; shift
  clang "${flags[@]}" "$@" -Wl,--start-group "${lib[@]}" -Wl,--end-group -lz -lpng -lm -pthread \
    -o "build-fuzz/bin/fuzz_$name"
}
build_target model_load tests/fuzz/fuzz_model_load.c
build_target checkpoint_load tests/fuzz/fuzz_checkpoint_load.c
build_target checkpoint_fixcrc -DFUZZ_FIX_CRCS tests/fuzz/fuzz_checkpoint_load.c
build_target cifar tests/fuzz/fuzz_cifar.c
build_target idx tests/fuzz/fuzz_idx.c
build_target onnx tests/fuzz/fuzz_onnx.c
build_target gz tests/fuzz/fuzz_gz.c tools/gzfile.c
build_target image -DHAVE_PNG tests/fuzz/fuzz_image.c tools/image.c tools/common.c tools/cli.c
export ASAN_OPTIONS="detect_leaks=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
for t in model_load checkpoint_load checkpoint_fixcrc cifar idx onnx gz image; do
  echo "--- fuzz_$t"
  work=$(mktemp -d)
  cp "tests/fuzz/corpus/$t"/* "$work"/
  "build-fuzz/bin/fuzz_$t" "$work" -max_total_time="${FUZZ_SECONDS:-60}" -rss_limit_mb=2048 -timeout=20 \
    -max_len=65536 -print_final_stats=1 2>&1 | tail -n 12
  rm -rf "$work"
done
