# SPDX-License-Identifier: BSD-2-Clause
"""Every bad input of point 4 raises TypeError / ValueError naming what was expected and given;
library errors become mnv2.Error with the status name and the library's message."""
import numpy as np
import pytest

import mnv2


@pytest.fixture(scope="module")
def model():
    return mnv2.Model("reduced", classes=10, threads=1, max_batch=4, seed=3)


def batch(n=2, dtype=np.float32):
    return np.random.default_rng(0).standard_normal((n, 32, 32, 3)).astype(dtype)


@pytest.mark.parametrize("call", ["predict", "forward", "train_step"])
def test_float64_is_refused_naming_both_dtypes(model, call):
    x = batch(dtype=np.float64)
    with pytest.raises(TypeError) as e:
        getattr(model, call)(*((x, np.zeros(2, np.int32)) if call == "train_step" else (x,)))
    assert "float32" in str(e.value) and "float64" in str(e.value) and "(2, 32, 32, 3)" in str(e.value)


@pytest.mark.parametrize("dtype", [np.float16, np.int32, np.int8, np.uint16, np.complex64, bool])
def test_other_dtypes_are_refused(model, dtype):
    with pytest.raises(TypeError, match="float32"):
        model.predict(np.zeros((1, 32, 32, 3), dtype))


def test_nchw_is_refused_with_a_hint(model):
    x = np.ascontiguousarray(batch().transpose(0, 3, 1, 2))
    with pytest.raises(ValueError) as e:
        model.predict(x)
    msg = str(e.value)
    assert "(batch, 32, 32, 3)" in msg and "(2, 3, 32, 32)" in msg and "NCHW" in msg


def test_non_contiguous_is_refused(model):
    x = batch(4)[::2]
    with pytest.raises(ValueError, match="C-contiguous") as e:
        model.predict(x)
    assert "non-contiguous" in str(e.value)
    y = np.asfortranarray(batch(1))
    with pytest.raises(ValueError, match="C-contiguous"):
        model.predict(y)


@pytest.mark.parametrize("shape", [(32, 32, 3), (1, 32, 32), (1, 28, 28, 3), (1, 32, 32, 1), (1, 32, 33, 3),
                                   (0, 32, 32, 3), (1, 1, 32, 32, 3)])
def test_wrong_shapes_are_refused(model, shape):
    with pytest.raises(ValueError) as e:
        model.predict(np.zeros(shape, np.float32))
    assert "(batch, 32, 32, 3)" in str(e.value) and str(shape).replace(",)", ")") in str(e.value).replace(",)", ")")


def test_non_arrays_are_refused(model):
    with pytest.raises(TypeError, match="numpy array"):
        model.predict(batch().tolist())


def test_labels_are_checked(model):
    x = batch()
    with pytest.raises(TypeError, match="integer"):
        model.train_step(x, np.zeros(2, np.float32))
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        model.train_step(x, np.zeros(3, np.int32))
    with pytest.raises(ValueError, match=r"0 \.\. 9"):
        model.train_step(x, np.array([0, 10]))
    with pytest.raises(ValueError, match=r"0 \.\. 9"):
        model.train_step(x, np.array([-1, 0]))
    with pytest.raises(TypeError):
        model.train_step(x, [0, 1])


def test_training_batch_above_max_is_refused_but_predict_chunks(model):
    x = batch(10)
    with pytest.raises(ValueError, match="max_batch = 4"):
        model.train_step(x, np.zeros(10, np.int32))
    with pytest.raises(ValueError, match="max_batch = 4"):
        model.forward(x, train=True)
    whole = model.predict(x)
    assert whole.shape == (10, 10) and whole.dtype == np.float32
    parts = np.concatenate([model.predict(x[i:i + 1]) for i in range(10)])
    np.testing.assert_array_equal(whole, parts)


def test_uint8_is_standardised_with_the_stored_normalization(model):
    px = np.random.default_rng(5).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    model.normalization = None
    np.testing.assert_array_equal(model.predict(px), model.predict(px.astype(np.float32) / np.float32(255)))
    mean, std = np.array([0.5, 0.4, 0.3], np.float32), np.array([0.2, 0.25, 0.3], np.float32)
    model.normalization = (mean, std)
    ref = (px.astype(np.float32) / np.float32(255) - mean) / std
    np.testing.assert_array_equal(model.predict(px), model.predict(ref))
    # the library's own fitting agrees (same size: only the standardisation applies)
    np.testing.assert_array_equal(model.prepare(px), ref)
    model.normalization = None


def test_library_errors_carry_status_name_and_detail(model, tmp_path):
    with pytest.raises(mnv2.Error) as e:
        model.backward(np.zeros(2, np.int32))
    assert e.value.status == mnv2.constants.ERR_BAD_STATE and e.value.status_name == "MNV2_ERR_BAD_STATE"
    assert "MNV2_ERR_BAD_STATE" in str(e.value) and "mnv2_backward" in e.value.detail
    missing = tmp_path / "nope.mnv2"
    with pytest.raises(mnv2.Error) as e:
        mnv2.Model.load(missing)
    assert e.value.status_name == "MNV2_ERR_IO" and "nope.mnv2" in str(e.value)
    bad = tmp_path / "bad.mnv2"
    bad.write_bytes(b"this is not a model file at all")
    with pytest.raises(mnv2.Error) as e:
        mnv2.Model.load(bad)
    assert e.value.status_name == "MNV2_ERR_FORMAT"
    with pytest.raises(mnv2.Error) as e:
        model.set(classes=3)
    assert e.value.status_name == "MNV2_ERR_READ_ONLY"


def test_bad_options(model):
    with pytest.raises(TypeError, match="unknown option 'learning_rate'"):
        mnv2.Model("reduced", learning_rate=0.1)
    with pytest.raises(ValueError, match="adam, adamw, sgd"):
        mnv2.Model("reduced", optimizer="rmsprop")
    with pytest.raises(TypeError, match="expected a number"):
        model.set(lr="fast")
    with pytest.raises(ValueError, match="preset"):
        mnv2.Model("huge")
    with pytest.raises(mnv2.Error) as e:
        mnv2.Model("reduced", classes=0)
    assert e.value.status_name == "MNV2_ERR_INVALID_ARGUMENT"
    with pytest.raises(mnv2.Error):
        model.set(lr=float("nan"))


def test_inference_only_model_has_no_gradients():
    m = mnv2.Model("reduced", threads=1, max_batch=1, trainable=False)
    with pytest.raises(mnv2.Error, match="MNV2_ERR_BAD_STATE"):
        m.gradients
    with pytest.raises(mnv2.Error, match="MNV2_ERR_BAD_STATE"):
        m.train_step(batch(1), np.zeros(1, np.int32))
