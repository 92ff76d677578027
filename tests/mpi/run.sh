#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Data-parallel mnv2-train over MPI on this machine (loopback), on a small synthetic IDX dataset
# and a tiny block table. Usage: run.sh MODE MNV2_TRAIN COMPARE_MODELS
#   sync N      --sync-bn on N processes gives the model of one process holding the whole batch
#               (float32 tolerance), and the same bits on a second run
#   curve       per-process batch norm: the loss curves of N = 2 and 3 stay within the spread of
#               single-process runs with other seeds
#   resume      a run at N = 2 stopped by SIGTERM resumes from its checkpoint at N = 1 and at N = 3
#               (--sync-bn) to the same model
#   faultdata   one process cannot read its dataset: every process stops with an error, no hang
#   faulthang   one process stops (SIGSTOP): the others time out (--mpi-timeout) and stop, no hang
# Exits 77 (skip) when mpirun is missing or mnv2-train was built without MPI.
set -u
mode=$1 train=$(realpath "$2") compare=$(realpath "$3")
command -v mpirun > /dev/null || { echo "mpirun not found: skipped"; exit 77; }
"$train" --help | grep -q "has no MPI" && { echo "mnv2-train built without MPI: skipped"; exit 77; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 # CI runs as root
export OMPI_MCA_btl=self,vader OMPI_MCA_rmaps_base_oversubscribe=1 # loopback only; more ranks than cores
# Open MPI 4.1's mpirun itself can crash on its abort path under meson's MALLOC_PERTURB_ (seen with
# 4.1.4): mpirun runs without it, the processes get it back (-x).
mpi=(env -u MALLOC_PERTURB_ mpirun)
if mpirun --version 2>&1 | grep -q "Open MPI"; then
    mpi+=(--oversubscribe)
    [ -n "${MALLOC_PERTURB_:-}" ] && mpi+=(-x "MALLOC_PERTURB_=$MALLOC_PERTURB_")
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
fail() { echo "FAIL: $*"; exit 1; }
# The processes whose parent is $1 (mpirun starts the local ranks itself); no procps needed.
children() {
    local d pp
    for d in /proc/[0-9]*; do
        read -r _ _ _ pp _ 2> /dev/null < "$d/stat" && [ "$pp" = "$1" ] && echo "${d#/proc/}"
    done
}

# 384 training and 16 test images of 8x8 grey, 4 classes (fitted to the model's 32x32x3 input).
mkdir data
python3 - << 'EOF' || fail "cannot write the dataset"
import random, struct
random.seed(1)
def write(prefix, n):
    imgs, labs = bytearray(), bytearray()
    for i in range(n):
        l = i % 4
        labs.append(l)
        for p in range(64):
            v = 40 + 50 * l + random.gauss(0, 30) + (p % 8) * 5 * (l % 2)
            imgs.append(min(255, max(0, int(v))))
    open(f'data/{prefix}-images-idx3-ubyte', 'wb').write(struct.pack('>IIII', 0x803, n, 8, 8) + imgs)
    open(f'data/{prefix}-labels-idx1-ubyte', 'wb').write(struct.pack('>II', 0x801, n) + labs)
write('train', 384)
write('t10k', 16)
EOF
# SGD: Adam divides by the root of the gradients' second moment, so a near-zero gradient whose
# sign differs by rounding moves its weight by a whole learning rate; SGD keeps rounding small.
common=(--data data --preset '1,8,1,1;6,16,1,2' --warmup 0 --threads 1 --optimizer sgd --lr 0.05)

run1() { "$train" "${common[@]}" "$@" > /dev/null || fail "mnv2-train $*"; }
runN() { local n=$1; shift; "${mpi[@]}" -np "$n" "$train" "${common[@]}" "$@" > out.txt 2>&1 || { cat out.txt; fail "mpirun -np $n mnv2-train $*"; }; }

case $mode in
sync)
    n=$4
    run1 --epochs 2 --batch 48 --out one.mnv2
    runN "$n" --epochs 2 --batch 48 --sync-bn --out many.mnv2
    grep "mpi: $n processes" out.txt || fail "no exchange report"
    # 16 steps; measured 1e-7 .. 5e-7
    "$compare" many.mnv2 one.mnv2 1e-5 || fail "N=$n --sync-bn differs from one process at the same global batch"
    runN "$n" --epochs 2 --batch 48 --sync-bn --out again.mnv2
    "$compare" again.mnv2 many.mnv2 0 || fail "two runs at N=$n are not bit-identical"
    cmp many.mnv2 again.mnv2 || fail "the model files of two runs at N=$n differ"
    # Without --sync-bn the model is a different one (the comparison above is not vacuous).
    runN "$n" --epochs 2 --batch 48 --out unsynced.mnv2
    ! "$compare" unsynced.mnv2 one.mnv2 1e-3 || fail "per-process batch norm gave the synchronised model"
    ;;
curve)
    for s in 0 1 2; do run1 --epochs 5 --batch 48 --seed $s --out s$s.mnv2; done
    runN 2 --epochs 5 --batch 48 --out n2.mnv2
    runN 3 --epochs 5 --batch 48 --out n3.mnv2
    python3 - << 'EOF' || fail "loss curves"
import csv
def losses(f):
    return [float(r['train_loss']) for r in csv.DictReader(open(f))]
seeds = [losses(f's{s}.csv') for s in range(3)]
noise = max(max(c) - min(c) for c in zip(*seeds))
for n in (2, 3):
    curve = losses(f'n{n}.csv')
    dev = max(abs(a - b) for a, b in zip(curve, seeds[0]))
    print(f'N={n}: largest difference {dev:.3f} to one process; seed spread {noise:.3f}')
    assert len(curve) == 5 and dev <= noise, 'outside the seed spread'
    assert curve[-1] < 0.5 * curve[0], 'did not learn'
EOF
    ;;
resume)
    # A larger block table at width 4 (steps of tens of milliseconds even on a fast idle machine,
    # so a signal sent within a few ms of the first checkpoint lands in epoch 2), 2 steps per
    # epoch, 6 in all. SIGTERM to the processes once the first epoch's checkpoint is there: they agree to stop after the step in flight and
    # rank 0 writes a checkpoint. It is resumed at N = 1 and at N = 3 (--sync-bn). Few steps: at
    # this learning rate rounding differences grow by orders of magnitude within a dozen steps
    # (measured on this model from the start: 1.2e-7 after 4 steps, 3.7e-6 after 6, 1e-3 after 12).
    big=(--preset '1,16,1,1;6,32,2,2;6,64,2,2' --width 4 --epochs 3 --batch 48 --limit 96)
    "${mpi[@]}" -np 2 "$train" "${common[@]}" "${big[@]}" --out run.mnv2 > run.txt 2>&1 &
    pid=$!
    for _ in $(seq 30000); do [ -s run.ckpt ] && break; sleep 0.002; done
    kill -TERM $(children $pid) 2> /dev/null
    wait $pid
    rc=$?
    cat run.txt
    [ -s run.ckpt ] || fail "no checkpoint"
    [ $rc -ne 0 ] || echo "(the run ended before the signal)"
    cp run.ckpt run1.ckpt && cp run.ckpt run3.ckpt
    # Without --batch: the checkpoint's batch (48) is used, split over 1 and over 3 processes.
    "$train" --data data --threads 1 --resume run1.ckpt --out r1.mnv2 > /dev/null || fail "resume at N=1"
    runN 3 --sync-bn --resume run3.ckpt --out r3.mnv2
    grep "resuming from run3.ckpt: epoch" out.txt || fail "nothing left to resume (the run was not stopped)"
    "$compare" r3.mnv2 r1.mnv2 1e-5 || fail "resumed at N=3 differs from resumed at N=1"
    ;;
faultdata)
    run1 --epochs 1 --batch 48 --out ok.mnv2 # the good data trains
    mkdir empty
    # MPMD: rank 1 is given a directory without a dataset.
    start=$(date +%s)
    timeout 120 "${mpi[@]}" -np 1 "$train" "${common[@]}" --epochs 5 --batch 48 --out f.mnv2 : \
        -np 1 "$train" "${common[@]}" --data empty --epochs 5 --batch 48 --out f.mnv2 > f.txt 2>&1
    rc=$?
    cat f.txt
    [ $rc -ne 124 ] || fail "hung (timeout)"
    [ $rc -ne 0 ] && [ $rc -lt 128 ] || fail "exit status $rc (0, or killed by a signal)"
    grep -q "rank 1 of 2 failed" f.txt || fail "no message naming the failed rank"
    echo "stopped with status $rc after $(($(date +%s) - start)) s"
    ;;
faulthang)
    "${mpi[@]}" -np 2 "$train" "${common[@]}" --epochs 100000 --batch 48 --mpi-timeout 3 --out h.mnv2 > h.txt 2>&1 &
    pid=$!
    for _ in $(seq 600); do [ -s h.ckpt ] && break; sleep 0.05; done
    [ -s h.ckpt ] || { kill -KILL $pid; fail "no checkpoint"; }
    victim=$(children $pid | tail -n 1)
    [ -n "$victim" ] || { kill -KILL $pid; fail "no rank process found under mpirun"; }
    kill -STOP "$victim"
    start=$(date +%s)
    for _ in $(seq 600); do kill -0 $pid 2> /dev/null || break; sleep 0.1; done
    if kill -0 $pid 2> /dev/null; then
        kill -CONT "$victim"; kill -KILL $pid; fail "still running 60 s after a process stopped"
    fi
    wait $pid
    rc=$?
    kill -KILL "$victim" 2> /dev/null
    cat h.txt
    [ $rc -ne 0 ] && [ $rc -lt 128 ] || fail "exit status $rc (0, or killed by a signal)"
    grep -q "no progress for 3 s" h.txt || fail "no timeout message"
    [ -s h.ckpt ] || fail "the checkpoint is gone"
    echo "stopped with status $rc $(($(date +%s) - start)) s after one process stopped"
    ;;
*) fail "unknown mode $mode" ;;
esac
echo PASS
