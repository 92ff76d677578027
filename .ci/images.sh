#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# CI stage for libmnv2-image (JPEG / PNG image folders). The suite 'image' already ran in ./build
# (the README's test command, tests/run-all.sh, installs libjpeg and libpng) and under ASan +
# UBSan (./build-asan, without the python test and the tools test, suite 'slow'); this stage
# makes sure none of it was skipped here and fuzzes the decoder. Budget: 3 minutes on 2 cores (measured: about 2 minutes).
#   1. the 'image' tests but the slow tools test, again in ./build, failing on any skip (the
#      torchvision comparison needs python3-torch, python3-torchvision and python3-pil);
#   2. the libFuzzer target tests/fuzz/fuzz_decode.c for 60 seconds when clang is there.
set -euo pipefail
cd "$(dirname "$0")/.."
bash .ci/ensure-packages libjpeg62-turbo-dev libpng-dev python3-pil python3-torch python3-torchvision

test -f build/image/libmnv2-image.so || { echo "libmnv2-image was not built in ./build"; exit 1; }
meson test -C build --print-errorlogs --no-rebuild image image_torchvision image_fuzz_replay \
  | tee build/images-ci.log
if grep -E '^ *[0-9]+/[0-9]+ .* SKIP' build/images-ci.log; then
  echo "an image test was skipped in CI"
  exit 1
fi
[ "$(grep -cE '^ *[0-9]+/[0-9]+ .* OK' build/images-ci.log)" = 3 ] || { echo "an image test did not run"; exit 1; }

if command -v clang >/dev/null; then
  out=$(mktemp -d)
  clang -fsanitize=fuzzer,address,undefined -g -O1 -Iinclude tests/fuzz/fuzz_decode.c image/*.c \
    -ljpeg -lpng -lm -lpthread -o "$out/fuzz_decode"
  cp -r tests/fuzz/corpus/decode "$out/corpus" # the fuzzer adds to it: a copy
  # 2 GiB: the decoder may legitimately hold 768 MiB of pixels (MNV2_IMAGE_MAX_PIXELS RGB) plus
  # 512 MiB of libjpeg's working memory (MNV2_IMAGE_MAX_DECODER_MEMORY), e.g. for an arithmetic-coded
  # file that describes a huge flat image in a few bytes; anything over that is a bug.
  "$out/fuzz_decode" -max_total_time=60 -max_len=4096 -rss_limit_mb=2048 "$out/corpus"
  rm -rf "$out"
fi
