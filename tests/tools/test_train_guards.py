# SPDX-License-Identifier: BSD-2-Clause
"""mnv2-train on a diverging run: it stops with a clear message and exit status 1, never writes a
model or checkpoint from the diverged state (a file the user had stays as it was), and with
--skip-bad-batches skips the bad batches and goes on, up to its limit.

Run by meson (suite 'tools', test 'train_guards') with MNV2_TOOLS_DIR set to the build's tools
directory. The data: a tiny IDX set (12x12 grey images) written here; each run takes a second.
"""
import os
import re
import struct
import subprocess

import pytest

TOOLS_DIR = os.environ.get('MNV2_TOOLS_DIR', 'build/tools')
TRAIN = os.path.join(TOOLS_DIR, 'mnv2-train')
USERS_FILE = b"the user's own file\n"


def write_idx_set(d, n, side=12):
    for prefix in ('train', 't10k'):
        images = bytes((i * 37 + j * 11) % 256 for i in range(n) for j in range(side * side))
        (d / f'{prefix}-images-idx3-ubyte').write_bytes(bytes([0, 0, 8, 3]) + struct.pack('>III', n, side, side)
                                                        + images)
        (d / f'{prefix}-labels-idx1-ubyte').write_bytes(bytes([0, 0, 8, 1]) + struct.pack('>I', n)
                                                        + bytes(i % 10 for i in range(n)))


def train(d, *args):
    out = d / 'model.mnv2'
    r = subprocess.run([TRAIN, '--data', str(d), '--threads', '1', '--out', str(out)] + list(args),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    return r, out


@pytest.fixture
def data(tmp_path):
    if not os.access(TRAIN, os.X_OK):
        pytest.fail(f'{TRAIN} was not built')
    return tmp_path


def test_divergence_stops_and_writes_nothing(data):
    write_idx_set(data, 16)
    (data / 'model.mnv2').write_bytes(USERS_FILE)
    r, out = train(data, '--epochs', '3', '--batch', '8', '--lr', '100', '--warmup', '0')
    assert r.returncode == 1, r.stderr
    assert re.search(r'training diverged at optimizer step \d+ \(epoch 1\): ', r.stderr), r.stderr
    assert 'no NaN or infinity was written' in r.stderr and '--skip-bad-batches' in r.stderr
    assert out.read_bytes() == USERS_FILE
    assert not (data / 'model.ckpt').exists()


def test_skip_bad_batches_goes_on(data):
    # Batch 1 at a negligible learning rate: each image keeps about its initial loss (2.1 .. 2.6
    # here), so a limit of 2.25 makes some batches bad and others good, never 20 bad in a row.
    write_idx_set(data, 24)
    r, out = train(data, '--epochs', '2', '--batch', '1', '--lr', '1e-12', '--warmup', '0',
                   '--max-loss', '2.25', '--skip-bad-batches')
    assert r.returncode == 0, r.stderr
    skipped = re.findall(r'^mnv2-train: skipped a bad batch at optimizer step \d+: loss: [0-9.]+ is above '
                         r'--max-loss 2.25$', r.stderr, re.M)
    assert 0 < len(skipped) < 48, r.stderr
    assert f'mnv2-train: {len(skipped)} bad batches skipped (--skip-bad-batches)' in r.stderr
    assert r.stdout.count('epoch ') >= 2
    summary = subprocess.run([os.path.join(TOOLS_DIR, 'mnv2-summary'), '--model', str(out)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    assert summary.returncode == 0, summary.stderr   # loading refuses a file with a non-finite value


def test_skip_bad_batches_gives_up(data):
    write_idx_set(data, 24)
    (data / 'model.mnv2').write_bytes(USERS_FILE)
    r, out = train(data, '--epochs', '1', '--batch', '1', '--max-loss', '0.001', '--skip-bad-batches')
    assert r.returncode == 1, r.stderr
    assert 'training diverged: 20 bad batches in a row' in r.stderr, r.stderr
    assert out.read_bytes() == USERS_FILE


def test_an_epoch_of_only_bad_batches_is_an_error(data):
    # 2 batches per epoch, both bad: fewer than 20 in a row, but nothing was trained in the epoch.
    write_idx_set(data, 16)
    r, out = train(data, '--epochs', '2', '--batch', '8', '--max-loss', '0.001', '--skip-bad-batches')
    assert r.returncode == 1, r.stderr
    assert 'every batch of epoch 1 was skipped as bad' in r.stderr, r.stderr
    assert not out.exists() and not (data / 'model.ckpt').exists()
