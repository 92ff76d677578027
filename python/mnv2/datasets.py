# SPDX-License-Identifier: BSD-2-Clause
"""The library's dataset readers (CIFAR-10, CIFAR-100, IDX / Fashion-MNIST), as numpy arrays.

Each reader returns a Dataset: ``images`` (N, H, W, C) uint8 (a read-only zero-copy view of the
library's pixels), ``labels`` (N,) int32, ``class_names``. A Dataset can be passed to
Model.fit() / Model.evaluate(), which fit its images to the model input in the library.
"""
import ctypes as C
import gzip
import os

import numpy as np

from . import _arrays
from . import constants as K
from ._lib import check, lib


class Dataset:
    """Labelled uint8 images held by libmnv2 (an mnv2_dataset)."""

    def __init__(self, handle):
        self._h = handle
        n, h, w, c, k = (C.c_uint32() for _ in range(5))
        check(lib.mnv2_dataset_info(handle, C.byref(n), C.byref(h), C.byref(w), C.byref(c), C.byref(k)))
        self.shape = (n.value, h.value, w.value, c.value)
        self.classes = k.value
        px = C.c_void_p()
        check(lib.mnv2_dataset_image(handle, 0, C.byref(px)))
        self.images = _arrays.view(self, px.value, n.value * h.value * w.value * c.value, np.uint8,
                                   writeable=False, shape=self.shape)
        labels = np.empty(n.value, np.int32)
        lab = C.c_int32()
        for i in range(n.value):
            check(lib.mnv2_dataset_label(handle, i, C.byref(lab)))
            labels[i] = lab.value
        labels.setflags(write=False)
        self.labels = labels
        name = C.c_char_p()
        self.class_names = []
        for i in range(k.value):
            check(lib.mnv2_dataset_class_name(handle, i, C.byref(name)))
            self.class_names.append(name.value.decode(errors="replace"))

    @classmethod
    def from_arrays(cls, images, labels, classes=None, class_names=None):
        """A dataset holding copies of ``images`` (N, H, W, C) uint8 and ``labels`` (N,) integers."""
        if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 4:
            raise TypeError(f"images: expected a uint8 array (N, H, W, C); got {_arrays._describe(images)}")
        images = np.ascontiguousarray(images)
        if classes is None:
            classes = int(labels.max()) + 1 if len(labels) else 1
        y = _arrays.labels(labels, images.shape[0], classes, "labels")
        h = C.c_void_p()
        n, H, W, Ch = images.shape
        check(lib.mnv2_dataset_create(n, H, W, Ch, classes, images.ctypes.data, y.ctypes.data, C.byref(h)),
              "mnv2_dataset_create")
        ds = cls(h)
        if class_names is not None:
            ds.set_class_names(class_names)
        return ds

    def set_class_names(self, names):
        enc = [s.encode() for s in names]
        arr = (C.c_char_p * len(enc))(*enc)
        check(lib.mnv2_dataset_set_class_names(self._h, arr, len(enc)))
        self.class_names = list(names)

    def __len__(self):
        return self.shape[0]

    def __del__(self):
        if getattr(self, "_h", None):
            lib.mnv2_dataset_destroy(self._h)
            self._h = None

    def __repr__(self):
        n, h, w, c = self.shape
        return f"mnv2.datasets.Dataset({n} images {h}x{w}x{c}, {self.classes} classes)"


def _open(fn, *args):
    h = C.c_void_p()
    check(fn(*args, C.byref(h)), fn.__name__)
    return Dataset(h)


def read_cifar10(paths):
    """CIFAR-10 binary batch files (a path or a list of paths, concatenated)."""
    if isinstance(paths, (str, bytes, os.PathLike)):
        paths = [paths]
    enc = [os.fsencode(p) for p in paths]
    return _open(lib.mnv2_dataset_read_cifar10, (C.c_char_p * len(enc))(*enc), len(enc))


def read_cifar100(path):
    """A CIFAR-100 binary file (fine labels)."""
    return _open(lib.mnv2_dataset_read_cifar100, os.fsencode(path))


def read_idx(images_path, labels_path):
    """An IDX image / label file pair (MNIST, Fashion-MNIST); gzip-compressed files (.gz) are
    decompressed in memory."""
    if str(images_path).endswith(".gz") or str(labels_path).endswith(".gz"):
        def raw(p):
            with (gzip.open(p, "rb") if str(p).endswith(".gz") else open(p, "rb")) as f:
                return f.read()
        img, lab = raw(images_path), raw(labels_path)
        return _open(lib.mnv2_dataset_read_idx_mem, img, len(img), lab, len(lab))
    return _open(lib.mnv2_dataset_read_idx, os.fsencode(images_path), os.fsencode(labels_path))


def open_dir(path, split="train"):
    """One split ("train" or "test") of a dataset directory: CIFAR-10, CIFAR-100 or IDX files (the
    latter also gzip-compressed, as Debian's dataset-fashion-mnist ships them)."""
    if split not in ("train", "test"):
        raise ValueError(f"split: expected 'train' or 'test'; got {split!r}")
    prefix = "train" if split == "train" else "t10k"
    img = os.path.join(path, f"{prefix}-images-idx3-ubyte")
    lab = os.path.join(path, f"{prefix}-labels-idx1-ubyte")
    if not os.path.exists(img) and os.path.exists(img + ".gz"):
        return read_idx(img + ".gz", lab + ".gz" if os.path.exists(lab + ".gz") else lab)
    return _open(lib.mnv2_dataset_open_dir, os.fsencode(path), K.SPLIT_TRAIN if split == "train" else K.SPLIT_TEST)
