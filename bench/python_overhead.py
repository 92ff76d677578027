#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""What the mnv2 Python layer adds to the library's own cost, in the two cases of issue 13:
a reduced-preset training step at batch 32 and a standard-224 inference at batch 1.

Each repetition times the same work twice on the same model, in alternating order: once through
mnv2.Model (train_step / predict: argument checks, then the calls) and once as the bare library
calls (mnv2_forward, mnv2_backward, mnv2_step through ctypes with every argument prepared ahead,
which is what a C caller pays plus one ctypes call each). Reports the medians, the median of the
per-repetition differences, and that difference as a share of the bare time.

On a busy machine the step's own jitter swamps a difference of microseconds, so the layer's cost is
also measured where it can be resolved: the same calls with the same batch sizes on a tiny input
(8x8 images), many repetitions; the layer's work (argument checks, allocating the logits) does not
depend on the image size. "calibrated" is that difference as a share of the real case's bare time.

usage: MNV2_LIBRARY=build/lib/libmnv2.so PYTHONPATH=python python3 bench/python_overhead.py
       [--threads N] [--reps-train N] [--reps-infer N] [--json]
"""
import argparse
import ctypes as C
import json
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import mnv2  # noqa: E402
from mnv2 import constants as K  # noqa: E402

lib = mnv2._lib


def measure(api, raw, reps, warm=2):
    for _ in range(warm):
        api()
        raw()
    ta, tr = [], []
    for i in range(reps):
        for which in ((api, ta), (raw, tr)) if i % 2 == 0 else ((raw, tr), (api, ta)):
            t0 = time.perf_counter()
            which[0]()
            which[1].append(time.perf_counter() - t0)
    diff = statistics.median([a - r for a, r in zip(ta, tr)])
    mr = statistics.median(tr)
    return {"api_ms": 1e3 * statistics.median(ta), "raw_ms": 1e3 * mr, "diff_ms": 1e3 * diff,
            "overhead_pct": 100.0 * diff / mr, "reps": reps}


def train_case(threads, reps, size=32):
    m = mnv2.Model("reduced", classes=10, threads=threads, max_batch=32, seed=0, input_size=size)
    r = np.random.default_rng(0)
    x = r.standard_normal((32, size, size, 3)).astype(np.float32)
    y = r.integers(0, 10, 32).astype(np.int32)
    h, xp, n, yp = m._h, x.ctypes.data, x.size, y.ctypes.data
    loss = C.c_float()
    lossp = C.byref(loss)
    fwd, bwd, step = lib.mnv2_forward, lib.mnv2_backward, lib.mnv2_step

    def raw():
        fwd(h, xp, n, 32, K.MODE_TRAIN, None, 0)
        bwd(h, yp, 32, lossp)
        step(h)

    return measure(lambda: m.train_step(x, y), raw, reps)


def infer_case(threads, reps, size=224):
    m = mnv2.Model("standard", classes=1000, threads=threads, max_batch=1, trainable=False, input_size=size)
    x = np.random.default_rng(1).standard_normal((1, size, size, 3)).astype(np.float32)
    out = np.empty((1, 1000), np.float32)
    h, xp, n, op = m._h, x.ctypes.data, x.size, out.ctypes.data
    fwd = lib.mnv2_forward

    def raw():
        fwd(h, xp, n, 1, K.MODE_INFER, op, 1000)

    return measure(lambda: m.predict(x), raw, reps)


def main():
    ap = argparse.ArgumentParser(description="Python layer overhead of mnv2")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps-train", type=int, default=30)
    ap.add_argument("--reps-infer", type=int, default=60)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    res = {"library": mnv2.library_path, "isa": mnv2.cpu_isa(), "threads": a.threads,
           "train_reduced32_b32": train_case(a.threads, a.reps_train),
           "infer_standard224_b1": infer_case(a.threads, a.reps_infer)}
    for case, fn in (("train_reduced32_b32", train_case), ("infer_standard224_b1", infer_case)):
        tiny = fn(a.threads, 2000, size=8)
        res[case]["tiny_diff_ms"] = tiny["diff_ms"]
        res[case]["calibrated_pct"] = 100.0 * tiny["diff_ms"] / res[case]["raw_ms"]
    if a.json:
        print(json.dumps(res, indent=1))
        return
    print(f"mnv2 Python layer overhead ({res['isa']}, {a.threads} thread(s); medians)")
    for case, target in (("train_reduced32_b32", 3.0), ("infer_standard224_b1", 5.0)):
        r = res[case]
        print(f"  {case:22s} api {r['api_ms']:9.3f} ms  bare {r['raw_ms']:9.3f} ms  "
              f"added {r['diff_ms']:7.3f} ms = {r['overhead_pct']:+6.2f}%; calibrated {r['tiny_diff_ms'] * 1e3:6.1f} us "
              f"= {r['calibrated_pct']:.3f}%  (target < {target}%, {r['reps']} reps)")


if __name__ == "__main__":
    main()
