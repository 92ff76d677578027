# SPDX-License-Identifier: BSD-2-Clause
"""Training steps through Python equal the same steps through C bit for bit (tests/c_step.c)."""
import os
import subprocess

import numpy as np
import pytest

import mnv2


def test_python_steps_equal_c_steps(tmp_path):
    helper = os.environ.get("MNV2_C_STEP")
    if not helper:
        pytest.skip("MNV2_C_STEP (the c_step helper meson builds) not set")
    batch, seed, threads, steps = 6, 11, 0, 3
    r = np.random.default_rng(12)
    x = r.standard_normal((batch, 32, 32, 3)).astype(np.float32)
    y = r.integers(0, 10, batch).astype(np.int32)
    hdr = np.array([batch, seed, threads, steps], np.int32)
    (tmp_path / "in.bin").write_bytes(hdr.tobytes() + x.tobytes() + y.tobytes())
    subprocess.run([helper, str(tmp_path / "in.bin"), str(tmp_path / "out.bin")], check=True)
    out = np.fromfile(tmp_path / "out.bin", np.float32)

    m = mnv2.Model("reduced", classes=10, threads=threads, max_batch=batch, seed=seed)
    losses = np.array([m.train_step(x, y) for _ in range(steps)], np.float32)
    ours = np.concatenate([losses, m.parameters, m.buffers])
    assert out.shape == ours.shape
    assert out.tobytes() == ours.tobytes(), \
        f"{np.count_nonzero(out != ours)} of {out.size} values differ; losses C {out[:steps]}, python {losses}"
