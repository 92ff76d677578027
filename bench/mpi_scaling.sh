#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# Scaling of data-parallel mnv2-train on one machine: the reduced MobileNetV2 (32x32x3; its
# gradients are 5.3 MB, see docs/design.md) trained on synthetic images at a global batch of
# BATCH (32), as 1 process x THREADS threads, 1 process x 1 thread and N processes x 1 thread
# (N = 2), REPS (3) runs each, the median. Prints images per second and, for N > 1, the share of a
# step spent in the gradient (and batch-norm) exchange.
#   bash bench/mpi_scaling.sh [build/tools/mnv2-train]
# Environment: IMAGES (1024: one epoch), BATCH, REPS, NPROCS ("2"), THREADS (2), SYNC_BN=1 adds --sync-bn.
set -euo pipefail
train=$(realpath "${1:-build/tools/mnv2-train}")
images=${IMAGES:-1024} batch=${BATCH:-32} reps=${REPS:-3} nprocs=${NPROCS:-2} threads=${THREADS:-2}
command -v mpirun > /dev/null || { echo "mpirun not found (apt-get install openmpi-bin libopenmpi-dev)"; exit 1; }
"$train" --help | grep -q "has no MPI" && { echo "$train was built without MPI (-Dmpi=enabled)"; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
mpi=(mpirun)
mpirun --version 2>&1 | grep -q "Open MPI" && mpi+=(--oversubscribe --bind-to none)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir data
python3 - "$images" << 'EOF'
import random, struct, sys
n = int(sys.argv[1])
random.seed(1)
def write(prefix, n):
    labs = bytes(i % 10 for i in range(n))
    imgs = bytes(random.getrandbits(8) for _ in range(n * 32 * 32))
    open(f'data/{prefix}-images-idx3-ubyte', 'wb').write(struct.pack('>IIII', 0x803, n, 32, 32) + imgs)
    open(f'data/{prefix}-labels-idx1-ubyte', 'wb').write(struct.pack('>II', 0x801, n) + labs)
write('train', n)
write('t10k', 16)
EOF
args=(--data data --preset reduced --epochs 1 --warmup 0 --batch "$batch" --out m.mnv2)
[ "${SYNC_BN:-0}" = 1 ] && args+=(--sync-bn)

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# One configuration: prints "img/s exchange-share%" of the median run by images per second.
measure() {
    local n=$1 t=$2 r
    : > runs.txt
    for r in $(seq "$reps"); do
        if [ "$n" = 1 ]; then "$train" "${args[@]}" --threads "$t" > out.txt
        else "${mpi[@]}" -np "$n" "$train" "${args[@]}" --threads "$t" > out.txt; fi
        local rate share
        rate=$(sed -n 's/.*| \([0-9.]*\) img\/s.*/\1/p' out.txt | tail -n 1)
        share=$(sed -n 's/^mpi: .*(\([0-9.]*\)%)$/\1/p' out.txt)
        echo "$rate ${share:--}" >> runs.txt
    done
    local med
    med=$(cut -d' ' -f1 runs.txt | median)
    awk -v m="$med" '$1 == m {print; exit}' runs.txt
}

printf 'mnv2-train, reduced model 32x32, global batch %s, %s images, median of %s runs\n' "$batch" "$images" "$reps"
printf '%-28s %10s %10s %18s\n' configuration img/s speed-up "exchange share"
read -r base _ < <(measure 1 1)
printf '%-28s %10s %10s %18s\n' "1 process x 1 thread" "$base" 1.00 -
read -r r _ < <(measure 1 "$threads")
printf '%-28s %10s %10.2f %18s\n' "1 process x $threads threads" "$r" "$(awk -v a="$r" -v b="$base" 'BEGIN {print a / b}')" -
for n in $nprocs; do
    read -r r s < <(measure "$n" 1)
    printf '%-28s %10s %10.2f %17s%%\n' "$n processes x 1 thread" "$r" "$(awk -v a="$r" -v b="$base" 'BEGIN {print a / b}')" "$s"
done
