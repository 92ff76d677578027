#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# mnv2-train and mnv2-infer on image folders written by make_image_folder:
#  - training on DIR/train + DIR/val, the "input wait" figure in the epoch line;
#  - an interrupted run (SIGINT in its second epoch) resumed from its checkpoint ends with a model
#    file identical to an uninterrupted run's;
#  - --bad-images skip reports a broken file by path and goes on; the default fails naming it;
#  - mnv2-infer: directories, batching, a broken and a missing file reported (exit 1), class
#    names; a 1000-class model without names prints the shipped ImageNet names.
# usage: tools_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
train=$build/tools/mnv2-train infer=$build/tools/mnv2-infer
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$build/tests/image/make_image_folder" "$tmp/data" 3 12 4 40
common=(--data "$tmp/data" --epochs 3 --batch 6 --lr 0.002 --warmup 0 --threads 1 --decode-threads 2 --seed 5)

"$train" "${common[@]}" --out "$tmp/a.mnv2" > "$tmp/a.log"
cat "$tmp/a.log"
grep -q 'epoch 3/3: .*input wait [0-9.]*%' "$tmp/a.log" || fail "no input wait figure in the epoch line"

# Interrupted in epoch 2, then resumed.
"$train" "${common[@]}" --out "$tmp/b.mnv2" > "$tmp/b.log" 2> "$tmp/b.err" &
pid=$!
for _ in $(seq 1 600); do grep -q 'epoch 1/3' "$tmp/b.log" 2>/dev/null && break; sleep 0.05; done
sleep 0.5
kill -INT "$pid" 2>/dev/null || true
wait "$pid" || true
if grep -q interrupted "$tmp/b.err"; then
  "$train" --data "$tmp/data" --resume "$tmp/b.ckpt" --out "$tmp/b.mnv2" --threads 1 --decode-threads 3 > "$tmp/b2.log"
  cat "$tmp/b2.log"
  cmp "$tmp/a.mnv2" "$tmp/b.mnv2" || fail "the resumed run's model differs from the uninterrupted run's"
  echo "resume: identical model after an interruption"
else
  fail "the run was not interrupted (finished too fast?)"
fi

# Broken files: skipped and reported, or failing the run.
printf 'not a jpeg' > "$tmp/data/train/class01/zz_broken.jpg"
"$train" --data "$tmp/data" --epochs 1 --batch 37 --threads 1 --bad-images skip --out "$tmp/c.mnv2" \
  > "$tmp/c.log" 2> "$tmp/c.err" || fail "--bad-images skip: the run failed"
grep -q "skipped .*zz_broken.jpg" "$tmp/c.err" || fail "--bad-images skip: the broken file is not reported"
if "$train" --data "$tmp/data" --epochs 1 --batch 37 --threads 1 --out "$tmp/d.mnv2" > /dev/null 2> "$tmp/d.err"; then
  fail "a broken file did not fail the run"
fi
grep -q "zz_broken.jpg" "$tmp/d.err" || fail "the failure does not name the file"
cat "$tmp/d.err"

# mnv2-infer: a directory, a broken file, a missing file; batches of 4.
printf 'junk' > "$tmp/bad.png"
set +e
"$infer" --model "$tmp/a.mnv2" --batch 4 --top 2 "$tmp/data/val/class00" "$tmp/bad.png" \
  "$tmp/data/val/class02/img00002.png" "$tmp/missing.jpg" > "$tmp/i.log" 2> "$tmp/i.err"
rc=$?
set -e
cat "$tmp/i.log" "$tmp/i.err"
[ "$rc" = 1 ] || fail "mnv2-infer: exit status $rc with failed files, want 1"
[ "$(grep -c '1\. class0' "$tmp/i.log")" = 5 ] || fail "mnv2-infer: want 5 classified images"
grep -q "bad.png" "$tmp/i.err" && grep -q "missing.jpg" "$tmp/i.err" || fail "mnv2-infer: failures not reported"

# A 1000-class model without names: the ImageNet names.
"$build/tests/image/make_imagenet_model" "$tmp/in.mnv2"
MNV2_DATADIR="$src/image" "$infer" --model "$tmp/in.mnv2" --top 1 "$tmp/data/val/class00/img00000.jpg" | tee "$tmp/n.log"
grep -q "1\. golden retriever" "$tmp/n.log" || fail "mnv2-infer: no ImageNet class name"
echo "all tool checks passed"
