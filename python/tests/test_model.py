# SPDX-License-Identifier: BSD-2-Clause
"""Model: views, state_dict, files, fit, evaluate, datasets."""
import gzip
import struct

import numpy as np
import pytest

import mnv2


def small(**kw):
    kw.setdefault("threads", 1)
    kw.setdefault("max_batch", 8)
    return mnv2.Model("reduced", classes=10, **kw)


def data(n=8, seed=0):
    r = np.random.default_rng(seed)
    return r.standard_normal((n, 32, 32, 3)).astype(np.float32), (np.arange(n) % 10).astype(np.int32)


def test_parameters_and_gradients_are_zero_copy_views():
    m = small()
    p, g = m.parameters, m.gradients
    assert p.dtype == np.float32 and p.shape == g.shape == (m.stat(mnv2.constants.STAT_PARAMS),)
    assert not p.flags.writeable and g.flags.writeable
    assert np.shares_memory(p, m.parameters)
    before = p.copy()
    x, y = data()
    m.train_step(x, y)
    assert not np.array_equal(before, p)  # the same view sees the step
    sd = m.state_dict()
    assert np.array_equal(np.concatenate([sd[n].ravel() for n, k, s in m.tensors() if k == "param"]), p)
    del m
    assert np.isfinite(p).all()  # the view keeps the model alive


def test_gradients_view_feeds_the_step():
    m = small(optimizer="sgd", momentum=0.0, lr=0.1)
    x, y = data()
    p0 = m.parameters.copy()
    m.forward(x, train=True)
    m.backward(y)
    g = m.gradients
    assert np.abs(g).max() > 0
    expect = p0 - np.float32(0.1) * g  # SGD without momentum or decay
    g *= 0.5  # e.g. the mean of an all-reduce over two workers
    expect_half = p0 - np.float32(0.1) * g
    m.step()
    np.testing.assert_allclose(m.parameters, expect_half, rtol=0, atol=1e-6)
    assert not np.allclose(m.parameters, expect, rtol=0, atol=1e-7) or np.abs(g).max() < 1e-6
    assert np.all(m.gradients == 0)


def test_editing_parameters_reaches_inference():
    m = small()
    x, _ = data(2)
    before = m.predict(x)
    with m.editing() as (p, b):
        p *= 0.5
        b[:] = b
    assert not np.array_equal(before, m.predict(x))


def test_state_dict_round_trip_and_checks():
    a, b = small(seed=1), small(seed=2)
    x, _ = data(4)
    assert not np.array_equal(a.predict(x), b.predict(x))
    b.load_state_dict(a.state_dict())
    np.testing.assert_array_equal(a.predict(x), b.predict(x))
    sd = a.state_dict()
    with pytest.raises(TypeError, match="float32"):
        b.load_state_dict({**sd, "classifier.1.bias": sd["classifier.1.bias"].astype(np.float64)})
    with pytest.raises(ValueError, match="expected shape"):
        b.load_state_dict({**sd, "classifier.1.bias": np.zeros(11, np.float32)})
    del sd["classifier.1.bias"]
    with pytest.raises(KeyError, match="classifier.1.bias"):
        b.load_state_dict(sd)
    b.load_state_dict(sd, strict=False)


def test_save_and_load(tmp_path):
    m = small(seed=4)
    x, y = data()
    m.train_step(x, y)
    m.normalization = ([0.5], [0.25])
    names = [f"class {i}" for i in range(10)]
    m.save(tmp_path / "m.mnv2", class_names=names)
    l = mnv2.Model.load(tmp_path / "m.mnv2", threads=1)
    np.testing.assert_array_equal(m.predict(x), l.predict(x))
    assert l.class_names == names
    np.testing.assert_array_equal(l.normalization[1], [0.25])
    assert l.max_batch == 8 and mnv2.Model.load(tmp_path / "m.mnv2", max_batch=2).max_batch == 2
    assert not mnv2.Model.load(tmp_path / "m.mnv2", trainable=False).trainable


def test_checkpoint_resumes_bit_identically(tmp_path):
    x, y = data()
    a = small(seed=5, dropout=0.3)
    a.train_step(x, y)
    a.save_checkpoint(tmp_path / "c.mnv2", blob=b"epoch=1")
    la = a.train_step(x, y)
    b = mnv2.Model.from_checkpoint(tmp_path / "c.mnv2", threads=1)
    assert b.checkpoint_blob == b"epoch=1" and b.step_count == 1
    assert b.train_step(x, y) == la
    np.testing.assert_array_equal(a.parameters, b.parameters)
    np.testing.assert_array_equal(a.optimizer_state, b.optimizer_state)


def test_threads_do_not_change_results():
    x, y = data()
    a, b = small(seed=6, threads=1), small(seed=6, threads=2)
    assert a.train_step(x, y) == b.train_step(x, y)
    np.testing.assert_array_equal(a.parameters, b.parameters)


def test_fit_memorises_a_batch():
    x, y = data(8, seed=7)
    # BN momentum 0: the running statistics are those of the last (whole) batch, so the inference
    # evaluation below sees what training saw.
    m = small(seed=7, lr=2e-3, bn_momentum=0.0)
    first = m.evaluate(x, y)["loss"]
    hist = m.fit(x, y, epochs=12, batch=8, flip=False, progress=False)
    assert len(hist) == 12 and m.step_count == 12
    last = m.evaluate(x, y)
    assert hist[-1]["loss"] < 0.5 * hist[0]["loss"]
    assert last["loss"] < 0.5 * first and last["top1"] >= 0.75
    # the recipe: warm-up then cosine decay to 0 at the last step
    assert hist[0]["lr"] < hist[2]["lr"] and m.schedule_lr(11) < m.schedule_lr(6)


def test_fit_on_uint8_and_datasets_and_evaluate(tmp_path, capsys):
    r = np.random.default_rng(8)
    px = r.integers(0, 256, (20, 32, 32, 3), dtype=np.uint8)
    y = (np.arange(20) % 10).astype(np.int32)
    m = small(seed=8)
    hist = m.fit(px, y, epochs=2, batch=8, pad_crop=2, progress=True)
    assert len(hist) == 2 and m.normalization is not None and m.step_count == 6
    assert "epoch 2/2" in capsys.readouterr().err
    ds = mnv2.Dataset.from_arrays(px, y, classes=10)
    assert ds.images.shape == (20, 32, 32, 3) and np.array_equal(ds.images, px) and not ds.images.flags.writeable
    a, b = m.evaluate(ds), m.evaluate(px, y)
    assert a["top1"] == b["top1"] and a["top5"] == b["top5"] and abs(a["loss"] - b["loss"]) < 1e-5
    m.fit(ds, epochs=1, progress=False, validation=(px, y))


def _idx(tmp_path, n=12, gz=False):
    r = np.random.default_rng(9)
    img = r.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    lab = (np.arange(n) % 10).astype(np.uint8)
    ib = struct.pack(">IIII", 0x803, n, 28, 28) + img.tobytes()
    lb = struct.pack(">II", 0x801, n) + lab.tobytes()
    op = gzip.open if gz else open
    sfx = ".gz" if gz else ""
    for name, b in [("train-images-idx3-ubyte", ib), ("train-labels-idx1-ubyte", lb),
                     ("t10k-images-idx3-ubyte", ib), ("t10k-labels-idx1-ubyte", lb)]:
        with op(tmp_path / (name + sfx), "wb") as f:
            f.write(b)
    return img, lab


@pytest.mark.parametrize("gz", [False, True])
def test_idx_reader(tmp_path, gz):
    img, lab = _idx(tmp_path, gz=gz)
    ds = mnv2.datasets.open_dir(tmp_path, "test")
    assert ds.images.shape == (12, 28, 28, 1) and ds.labels.dtype == np.int32
    np.testing.assert_array_equal(ds.images[..., 0], img)
    np.testing.assert_array_equal(ds.labels, lab)
    assert ds.class_names[0] == "T-shirt/top"
    # grey 28x28 into a 32x32x1 model: padded by the library, as prepare() does for single images
    m = mnv2.Model("reduced", classes=10, threads=1, max_batch=4, input_channels=1)
    m.fit(ds, epochs=1, progress=False)
    x = m.prepare(ds.images[:3])
    assert x.shape == (3, 32, 32, 1) and np.all(x[:, :2] == 0)
    assert m.evaluate(ds)["top1"] == pytest.approx(float(np.mean(m.classify(m.prepare(ds.images)) == lab)))


def test_cifar10_reader_and_errors(tmp_path):
    r = np.random.default_rng(10)
    rec = r.integers(0, 256, (5, 3073), dtype=np.uint8)
    rec[:, 0] = np.arange(5)
    (tmp_path / "b.bin").write_bytes(rec.tobytes())
    ds = mnv2.datasets.read_cifar10([tmp_path / "b.bin", tmp_path / "b.bin"])
    assert len(ds) == 10 and ds.class_names[0] == "airplane"
    np.testing.assert_array_equal(ds.images[1], rec[1, 1:].reshape(3, 32, 32).transpose(1, 2, 0))
    (tmp_path / "t.bin").write_bytes(rec.tobytes()[:-5])
    with pytest.raises(mnv2.Error) as e:
        mnv2.datasets.read_cifar10(tmp_path / "t.bin")
    assert e.value.status_name == "MNV2_ERR_FORMAT" and "t.bin" in str(e.value)
