#!/usr/bin/python3
"""ONNX Runtime figures for mnv2-bench's inference cases, from ONNX files mnv2 itself exports.

    python3 bench/ort_bench.py [--lib build/lib/libmnv2.so] [--threads N] [--reps N] [--json]
Cases (medians; the files are written by mnv2_model_export_onnx(), batch norm folded, NCHW):
    infer_standard224_b1_ms   canonical MobileNetV2, 1000 classes, 224x224, batch 1; 30 runs after 3
    infer_reduced32_b1_ms     reduced 32x32, 10 classes, batch 1; 50 runs after 3
ONNX Runtime is the npm package onnxruntime-node run by node (intra-op threads = --threads), found
as the tests find it (tests/onnx/ortdir.py: $MNV2_ORT_DIR, build/ort, ~/.cache/mnv2/ort).
Without node or the package it prints an error entry and succeeds.
SPDX-License-Identifier: BSD-2-Clause
"""
import argparse, json, os, subprocess, sys, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'onnx'))
import ortdir  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument('--lib', default=os.path.join(HERE, '..', 'build', 'lib', 'libmnv2.so'))
ap.add_argument('--threads', type=int, default=1)
ap.add_argument('--reps', type=int, default=0, help='runs per case (0: the defaults above)')
ap.add_argument('--case', action='append', default=[])
ap.add_argument('--json', action='store_true')
a = ap.parse_args()


def fail(msg):
    print(f'ort_bench.py: {msg}', file=sys.stderr)
    if a.json:
        print(json.dumps({'error': msg}))
    sys.exit(0)


nm = ortdir.find(os.path.join(HERE, '..', 'build'))
if not nm:
    fail('node or onnxruntime-node not found (npm install --ignore-scripts --prefix DIR onnxruntime-node; '
         'MNV2_ORT_DIR=DIR)')
try:
    import mnv2c
    M = mnv2c.Mnv2(a.lib)
except OSError as e:
    fail(f'cannot load {a.lib}: {e}')

CASES = {  # name: preset, size, classes, runs
    'infer_standard224_b1_ms': (mnv2c.STANDARD, 224, 1000, 30),
    'infer_reduced32_b1_ms': (mnv2c.REDUCED, 32, 10, 50),
}
out = {'threads': a.threads, 'engine': 'onnxruntime-node'}
with tempfile.TemporaryDirectory() as tmp:
    for name, (preset, size, classes, runs) in CASES.items():
        if a.case and name not in a.case:
            continue
        m = M.model(preset, [('CLASSES', classes), ('MAX_BATCH', 1)])
        path = os.path.join(tmp, name + '.onnx')
        M.ok(M.lib.mnv2_model_export_onnx(m, 0, path.encode()))
        M.lib.mnv2_model_destroy(m)
        r = subprocess.run(['node', os.path.join(HERE, 'ort_bench.js'), path, f'1,3,{size},{size}', str(a.threads),
                            str(a.reps or runs), '3'], env=dict(os.environ, NODE_PATH=nm), capture_output=True,
                           text=True)
        if r.returncode:
            out[name + '_error'] = r.stderr.strip()[-300:]
            continue
        out[name] = json.loads(r.stdout.strip().splitlines()[-1])['median_ms']
        if not a.json:
            print(f'{name:28} {out[name]:8.2f} ms  ({a.threads} thread(s))')
if a.json:
    print(json.dumps(out))
