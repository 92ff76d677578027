#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# The README's main job: install the packages that are missing, build mnv2 and install it into
# ./_prefix, build the example programs against the installed library (tools/Makefile), train
# the reduced MobileNetV2 on Fashion-MNIST, and classify a few test images with the result.
# The defaults are the quick protocol of the PyTorch reference (first 12,000 training images,
# 2 epochs, 1 warm-up epoch, batch 32, all 10,000 test images): 2 to 3 minutes of training on 2
# cores, about 86-87% test accuracy. The paper's full recipe is 30 epochs with 5 warm-up epochs on
# all 60,000 images: LIMIT=0 EPOCHS=30 WARMUP=5.
set -euo pipefail

LIMIT=${LIMIT:-12000}           # training images (0 = all 60,000)
TEST_LIMIT=${TEST_LIMIT:-0}     # test images evaluated after each epoch (0 = all 10,000)
EPOCHS=${EPOCHS:-2}
WARMUP=${WARMUP:-1}             # warm-up epochs
# Batch-norm momentum (Keras convention; the paper's 0.99). Runs much shorter than an epoch of
# 12,000 images want less (0.9): 0.99 moves the running statistics only 1 - 0.99^steps of the way.
BN_MOMENTUM=${BN_MOMENTUM:-0.99}
THREADS=${THREADS:-0}           # 0 = all cores
DATA=${DATA:-/usr/share/datasets/fashion-mnist}

cd "$(dirname "$0")/.."
root=$PWD
prefix=$root/_prefix
bin=$root/_build-examples
run=$root/_main-job
fail() { echo "run-main-job: $*" >&2; exit 1; }
step() { printf '\n== %s\n' "$*"; }

step "packages"
packages=(gcc libc6-dev make meson ninja-build pkg-config zlib1g-dev libpng-dev dataset-fashion-mnist)
if command -v dpkg-query >/dev/null; then
  missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then
      command -v sudo >/dev/null || fail "need root or sudo to install: ${missing[*]}"
      sudo=(sudo)
    fi
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update
    "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
  else
    echo "all present: ${packages[*]}"
  fi
else
  echo "no dpkg: assuming ${packages[*]} (or their equivalents) are installed"
fi

step "build and install mnv2 into $prefix"
opts=(--prefix "$prefix" -Dtests=false -Dtools=disabled -Ddocs=disabled)
if [ -f _build/build.ninja ]; then
  meson setup --reconfigure _build "${opts[@]}" >/dev/null
else
  meson setup _build "${opts[@]}" >/dev/null
fi
ninja -C _build > _build/build.log 2>&1 || { tail -n 40 _build/build.log; fail "building the library failed (log: _build/build.log)"; }
meson install -C _build --quiet || fail "installing the library failed"

step "build the tools against the installed library"
multiarch=$(gcc -print-multiarch 2>/dev/null || true)
export PKG_CONFIG_PATH="$prefix/lib/$multiarch/pkgconfig:$prefix/lib/pkgconfig:$prefix/lib64/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
pkg-config --exists mnv2 || fail "mnv2.pc not found under $prefix"
make -C tools O="$bin" --no-print-directory

step "train the reduced model on $DATA (LIMIT=$LIMIT EPOCHS=$EPOCHS WARMUP=$WARMUP)"
[ -d "$DATA" ] || fail "no dataset at $DATA (install dataset-fashion-mnist)"
mkdir -p "$run"
args=(--data "$DATA" --preset reduced --epochs "$EPOCHS" --warmup "$WARMUP" --bn-momentum "$BN_MOMENTUM"
      --threads "$THREADS" --seed 1 --out "$run/model.mnv2")
[ "$LIMIT" != 0 ] && args+=(--limit "$LIMIT")
[ "$TEST_LIMIT" != 0 ] && args+=(--test-limit "$TEST_LIMIT")
"$bin/mnv2-train" "${args[@]}"

step "classify three test images"
names=("T-shirt/top" "Trouser" "Pullover" "Dress" "Coat" "Sandal" "Shirt" "Sneaker" "Bag" "Ankle boot")
images=()
for i in 0 1 2; do
  label=$("$bin/idx2pgm" "$DATA/t10k-images-idx3-ubyte.gz" "$i" "$run/test-$i.pgm" \
          "$DATA/t10k-labels-idx1-ubyte.gz" | sed -n 's/.*, label \([0-9]*\)$/\1/p')
  echo "$run/test-$i.pgm: test image $i, label ${names[$label]}"
  images+=("$run/test-$i.pgm")
done
"$bin/mnv2-infer" --model "$run/model.mnv2" --top 3 "${images[@]}"

step "done"
echo "model:       $run/model.mnv2"
echo "checkpoint:  $run/model.ckpt"
echo "per epoch:   $run/model.csv"
echo "curves:      $run/model.svg"
echo "programs:    $bin (mnv2-train, mnv2-infer, mnv2-summary, idx2pgm)"
