# SPDX-License-Identifier: BSD-2-Clause
"""Checks that turn numpy arrays into what the C API expects, or refuse them with a clear message."""
import numpy as np


def _describe(x):
    if isinstance(x, np.ndarray):
        layout = "C-contiguous" if x.flags.c_contiguous else "non-contiguous"
        return f"{x.dtype} array of shape {x.shape} ({layout})"
    return f"{type(x).__name__}"


def images(x, shape, what="x"):
    """Check an image batch against the model input ``shape`` = (H, W, C). Returns (array, kind)
    with kind "float32" or "uint8"; raises TypeError / ValueError naming the expected and given
    dtype / shape. Never converts anything silently."""
    h, w, c = shape
    want = f"NHWC float32 C-contiguous (or uint8) of shape (batch, {h}, {w}, {c})"
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{what}: expected a numpy array, {want}; got {_describe(x)}")
    if x.dtype != np.float32 and x.dtype != np.uint8:
        raise TypeError(f"{what}: expected dtype float32 (or uint8 images), {want}; got {_describe(x)}")
    if x.ndim != 4:
        raise ValueError(f"{what}: expected 4 dimensions, {want}; got {_describe(x)}")
    if x.shape[1:] != (h, w, c):
        hint = ""
        if x.shape[1:] == (c, h, w) and (c, h, w) != (h, w, c):
            hint = " (this looks like NCHW: transpose with x.transpose(0, 2, 3, 1) and make it contiguous)"
        raise ValueError(f"{what}: expected {want}; got {_describe(x)}{hint}")
    if x.shape[0] == 0:
        raise ValueError(f"{what}: expected at least one image, {want}; got {_describe(x)}")
    if not x.flags.c_contiguous:
        raise ValueError(f"{what}: expected a C-contiguous array, {want}; got {_describe(x)} "
                         "(np.ascontiguousarray makes a contiguous copy)")
    return x, x.dtype.name


def labels(y, n, classes, what="y"):
    """Check a label vector of ``n`` integers in 0 .. classes - 1; returns it as int32 (copying only
    from another integer dtype, where the values are unchanged)."""
    if not isinstance(y, np.ndarray):
        raise TypeError(f"{what}: expected a numpy integer array of shape ({n},); got {_describe(y)}")
    if y.dtype.kind not in "iu":
        raise TypeError(f"{what}: expected an integer array of shape ({n},) (labels 0 .. {classes - 1}); "
                        f"got {_describe(y)}")
    if y.shape != (n,):
        raise ValueError(f"{what}: expected shape ({n},), one label per image; got {_describe(y)}")
    if n and (int(y.min()) < 0 or int(y.max()) >= classes):
        raise ValueError(f"{what}: labels must be in 0 .. {classes - 1}; got values in "
                         f"{int(y.min())} .. {int(y.max())}")
    if y.dtype == np.int32 and y.flags.c_contiguous:
        return y
    return np.ascontiguousarray(y, dtype=np.int32)


class _View:
    """Exposes a buffer owned by the library to numpy, keeping its owner alive."""

    def __init__(self, owner, address, shape, typestr, writeable):
        self._owner = owner
        self.__array_interface__ = {"shape": shape, "typestr": typestr, "data": (address, not writeable),
                                    "version": 3}


def view(owner, address, count, dtype=np.float32, writeable=True, shape=None):
    """A zero-copy numpy array over ``count`` values at ``address``; ``owner`` lives as long as it."""
    if count == 0 or not address:
        return np.zeros(shape or (0,), dtype=dtype)
    return np.asarray(_View(owner, address, shape or (count,), np.dtype(dtype).str, writeable))
