#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""mnv2's ONNX export run in ONNX Runtime (npm onnxruntime-node, through node): the reduced and the
standard network, a non-default width and class count, batch norm folded and as nodes, NCHW and
NHWC input, the standardisation folded in. Every export passes onnx.checker.check_model; ONNX
Runtime's logits must equal mnv2's within 1e-4 relative to max |logit|; importing the export back
gives mnv2's logits again (same configuration). Exits 77 (skipped) without node, onnxruntime-node,
numpy or python3-onnx.

usage: test_export_ort.py path/to/libmnv2.so [build_dir]
"""
import ctypes as C, os, sys, tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ortdir

try:
    import numpy as np
    import onnx
except ImportError as e:
    print(f"{e.name} not installed: skipped")
    sys.exit(77)
NODE_MODULES = ortdir.find(sys.argv[2] if len(sys.argv) > 2 else None)
if not NODE_MODULES:
    print("node or onnxruntime-node not found (see tests/onnx/ortdir.py): skipped")
    sys.exit(77)

import mnv2c

M = mnv2c.Mnv2(sys.argv[1])
TOL = 1e-4
CASES = [  # name, preset, int keys, float keys, export flags
    ("reduced", mnv2c.REDUCED, [], [], 0),
    ("reduced-bn-nodes", mnv2c.REDUCED, [], [], mnv2c.BN_NODES),
    ("standard-224", mnv2c.STANDARD, [], [], 0),
    ("standard-w0.75-7cls-96-nhwc", mnv2c.STANDARD, [("H", 96), ("W", 96), ("CLASSES", 7)], [("WIDTH", 0.75)],
     mnv2c.NHWC),
    ("reduced-w1.4-3cls-40x48-bn-nhwc-std", mnv2c.REDUCED, [("H", 40), ("W", 48), ("CLASSES", 3)], [("WIDTH", 1.4)],
     mnv2c.BN_NODES | mnv2c.NHWC | mnv2c.STANDARDIZE),
]
failed = 0
rng = np.random.default_rng(1)
with tempfile.TemporaryDirectory() as tmp:
    for name, preset, ints, floats, flags in CASES:
        m = M.model(preset, [("MAX_BATCH", 2), ("SEED", 7)] + ints, floats)
        M.randomize_stats(m, rng)
        H, W, K = M.get_int(m, "H"), M.get_int(m, "W"), M.get_int(m, "CLASSES")
        mean = np.array([0.485, 0.456, 0.406], np.float32)
        std = np.array([0.229, 0.224, 0.225], np.float32)
        if flags & mnv2c.STANDARDIZE:
            M.ok(M.lib.mnv2_model_set_normalization(m, mean.ctypes.data_as(mnv2c.FP), std.ctypes.data_as(mnv2c.FP), 3))
        path = os.path.join(tmp, name + ".onnx")
        M.ok(M.lib.mnv2_model_export_onnx(m, flags, path.encode()))
        onnx.checker.check_model(onnx.load(path), full_check=True)
        pix = rng.uniform(0, 1, (2, H, W, 3)).astype(np.float32)  # pixel / 255
        x = (pix - mean) / std if flags & mnv2c.STANDARDIZE else pix * 2 - 1
        ref = M.forward(m, x)
        feed = pix if flags & mnv2c.STANDARDIZE else x
        if not flags & mnv2c.NHWC:
            feed = feed.transpose(0, 3, 1, 2)
        out = ortdir.run(NODE_MODULES, path, feed, (2, K))
        err = float(np.abs(out - ref).max() / np.abs(ref).max())
        m2 = mnv2c.P()
        M.ok(M.lib.mnv2_model_import_onnx(path.encode(), None, C.byref(m2)))
        back = M.forward(m2, x)
        err2 = float(np.abs(back - ref).max() / np.abs(ref).max())
        same_cfg = M.blocks(m2) == M.blocks(m) and M.get_float(m2, "WIDTH") == M.get_float(m, "WIDTH")
        if flags & mnv2c.STANDARDIZE:  # the Sub / Div nodes come back as the recorded standardisation
            gm, gs, n = (C.c_float * 3)(), (C.c_float * 3)(), C.c_uint32()
            M.ok(M.lib.mnv2_model_get_normalization(m2, gm, gs, 3, C.byref(n)))
            same_cfg = same_cfg and n.value == 3 and list(gm) == list(mean) and list(gs) == list(std)
        ok = err <= TOL and err2 <= TOL and same_cfg
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {name}: ORT vs mnv2 {err:.2e}, re-imported vs mnv2 {err2:.2e} "
              f"(max |logit| {np.abs(ref).max():.3f}), configuration {'kept' if same_cfg else 'CHANGED'}")
        M.lib.mnv2_model_destroy(m2)
        M.lib.mnv2_model_destroy(m)
    # The model must record a standardisation for MNV2_ONNX_STANDARDIZE.
    m = M.model(mnv2c.REDUCED)
    st = M.lib.mnv2_model_export_onnx(m, mnv2c.STANDARDIZE, os.path.join(tmp, "x.onnx").encode())
    print(f"{'ok  ' if st == -5 else 'FAIL'} standardisation asked without one: status {st} ({M.last_error()})")
    failed += st != -5
sys.exit(1 if failed else 0)
