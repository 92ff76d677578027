#!/bin/sh
# mnv2 against PyTorch, on this machine and in the same run. Builds nothing.
#   bench/compare.sh [MNV2_BENCH] [THREAD_LIST]
#     MNV2_BENCH   the mnv2-bench binary (default build/tools/mnv2-bench)
#     THREAD_LIST  thread counts, e.g. "1 2" (the default)
#   Environment: BENCH_ARGS  extra options for both programs (e.g. "--reps 3", "--case NAME")
#                PYTHON      the interpreter with PyTorch (default /usr/bin/python3)
# For each thread count it runs mnv2-bench --json, then bench/torch_bench.py --json, and prints one
# table. ratio = mnv2's advantage: img/s mnv2/PyTorch, latency and memory PyTorch/mnv2 (> 1: mnv2 better).
# The batch-1 inference rows also show ONNX Runtime (bench/ort_bench.py: npm onnxruntime-node via node,
# on ONNX files mnv2 exports in the same run; MNV2_LIB names the libmnv2.so that exports them, default
# next to MNV2_BENCH: build/lib/libmnv2.so). "-" when node or onnxruntime-node is missing.
# SPDX-License-Identifier: BSD-2-Clause
set -eu
BIN=${1:-build/tools/mnv2-bench}
THREADS=${2:-"1 2"}
PYTHON=${PYTHON:-/usr/bin/python3}
BENCH_ARGS=${BENCH_ARGS:-}
MNV2_LIB=${MNV2_LIB:-$(dirname "$BIN")/../lib/libmnv2.so}
HERE=$(cd "$(dirname "$0")" && pwd)
if [ ! -x "$BIN" ]; then
    echo "compare.sh: $BIN is not an executable (build mnv2-bench first, or pass its path)" >&2
    exit 2
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM
for t in $THREADS; do
    echo "compare.sh: mnv2-bench, $t thread(s) ..." >&2
    # shellcheck disable=SC2086
    case " $BENCH_ARGS " in *" --case"*) ALL= ;; *) ALL=--all ;; esac
    # shellcheck disable=SC2086
    "$BIN" --threads "$t" --json $ALL $BENCH_ARGS >"$TMP/mnv2.$t.json"
    echo "compare.sh: torch_bench.py, $t thread(s) ..." >&2
    # shellcheck disable=SC2086
    "$PYTHON" "$HERE/torch_bench.py" --threads "$t" --json $BENCH_ARGS >"$TMP/torch.$t.json"
    echo "compare.sh: ort_bench.py (ONNX Runtime), $t thread(s) ..." >&2
    # shellcheck disable=SC2086
    "$PYTHON" "$HERE/ort_bench.py" --lib "$MNV2_LIB" --threads "$t" --json $BENCH_ARGS >"$TMP/ort.$t.json"
done
# shellcheck disable=SC2086
python3 - "$TMP" $THREADS <<'PYEOF'
import json, sys
tmp, threads = sys.argv[1], sys.argv[2:]
def load(p):
    try:
        with open(p) as f:
            return json.loads(f.read().strip().splitlines()[-1])
    except (OSError, ValueError, IndexError) as e:
        return {'error': f'{p}: {e}'}
M = {t: load(f'{tmp}/mnv2.{t}.json') for t in threads}
T = {t: load(f'{tmp}/torch.{t}.json') for t in threads}
O = {t: load(f'{tmp}/ort.{t}.json') for t in threads}
ROWS = [  # case, unit, PyTorch key, higher is better
    ('infer_standard224_b1_ms', 'ms', 'infer_standard224_b1_ms', False),
    ('infer_standard224_b1_ms', 'ms', 'infer_standard224_b1_eager_ms', False),
    ('infer_reduced32_b1_ms', 'ms', 'infer_reduced32_b1_ms', False),
    ('train_reduced32_b32_img_s', 'img/s', 'train_reduced32_b32_img_s', True),
    ('train_standard224_b32_img_s', 'img/s', 'train_standard224_b32_img_s', True),
    ('train_reduced32_b32_peak_rss_mib', 'MiB', 'train_reduced32_b32_peak_rss_mib', False),
]
def f(v):
    return '-' if v is None else f'{v:.2f}'
def target(case, tkey, t, m, p, r):
    """The project's target for this row, and whether it is met."""
    if case == 'train_reduced32_b32_img_s' and t == '2':
        return '>= 2.5x', r is not None and r >= 2.5
    if tkey == 'infer_standard224_b1_ms' and t == '1':
        return '<= 0.5x XNNPACK', r is not None and r >= 2.0
    if tkey == 'infer_standard224_b1_ms' and t == '2':
        return '<= 5.5 ms', m is not None and m <= 5.5
    if case == 'train_standard224_b32_img_s' and t == '2':
        return '>= 4x', r is not None and r >= 4.0
    if case == 'train_reduced32_b32_peak_rss_mib':
        return '<= 1/4', r is not None and r >= 4.0
    return None, None
hdr = f'{"threads":>7}  {"case":34} {"mnv2":>9} {"PyTorch":>9} {"ORT":>9}  {"unit":6} {"ratio":>7}  target'
print('ratio = how many times better mnv2 is: img/s mnv2/PyTorch; ms and MiB PyTorch/mnv2')
print(hdr)
print('-' * len(hdr) + '-' * 14)
for t in threads:
    m, p = M[t], T[t]
    for case, unit, tkey, up in ROWS:
        mv, pv = m.get(case), p.get(tkey)
        if mv is None and pv is None:
            continue
        name = case if tkey == case else case + ' (eager)'
        r = None
        if mv and pv:
            r = mv / pv if up else pv / mv
        tg, ok = target(case, tkey, t, mv, pv, r)
        tgt = '' if tg is None else f'{tg:16} {"met" if ok else "NOT met"}'
        ov = O[t].get(case) if tkey == case else None
        print(f'{t:>7}  {name:34} {f(mv):>9} {f(pv):>9} {f(ov):>9}  {unit:6} {f(r):>7}  {tgt}')
    if m.get('gflops') is not None:
        pf = m.get('peak_fraction')
        print(f'{t:>7}  mnv2: isa {m.get("isa")}, one-core FMA peak {m["gflops"]:.1f} GFLOP/s '
              f'({m.get("gflops_loop")}), reduced training at '
              f'{"-" if pf is None else f"{100 * pf:.1f}%"} of {t} core(s)')
    for name, d in (('mnv2-bench', m), ('torch_bench.py', p), ('ort_bench.py', O[t])):
        if 'error' in d:
            print(f'{t:>7}  {name}: {d["error"]}')
print()
def speedup(d, a, b, case):
    x, y = d.get(a, {}).get(case), d.get(b, {}).get(case)
    return y / x if x and y else None
if '1' in threads:
    for t in threads:
        if t == '1':
            continue
        for case in ('train_reduced32_b32_img_s', 'train_standard224_b32_img_s'):
            sm, sp = speedup(M, '1', t, case), speedup(T, '1', t, case)
            if sm is None and sp is None:
                continue
            ok = '' if t != '2' else ('  target >= 1.8x ' + ('met' if sm and sm >= 1.8 else 'NOT met'))
            print(f'training speed-up {t} threads vs 1, {case}: mnv2 {f(sm)}x, PyTorch {f(sp)}x{ok}'
                  ' (separate runs)')
for t in threads:
    for case in ('train_reduced32_b32', 'train_standard224_b32'):
        si = M[t].get(case + '_speedup')
        if si is None:
            continue
        ok = '' if t != '2' else ('  target >= 1.8x ' + ('met' if si >= 1.8 else 'NOT met'))
        print(f'training speed-up {t} threads vs 1, {case}_img_s: mnv2 {f(si)}x{ok}'
              ' (interleaved steps in one process, median pair ratio)')
print()
for t in threads:
    print(f'raw {t} thread(s): mnv2 {json.dumps(M[t])}')
    print(f'raw {t} thread(s): torch {json.dumps(T[t])}')
    print(f'raw {t} thread(s): ort {json.dumps(O[t])}')
PYEOF
