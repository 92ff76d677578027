# SPDX-License-Identifier: BSD-2-Clause
"""mnv2.Model: a MobileNetV2 held by libmnv2, driven with numpy arrays."""
import collections
import contextlib
import ctypes as C
import math
import os
import sys
import time

import numpy as np

from . import _arrays, _options
from . import constants as K
from ._lib import BatchOptions, Error, LoadOptions, check, lib

_OWNED = object()


def _fs(path):
    return os.fsencode(path)


def _names_array(names):
    if not names:
        return None, 0
    enc = [n.encode() if isinstance(n, str) else bytes(n) for n in names]
    return (C.c_char_p * len(enc))(*enc), len(enc)


class Model:
    """A MobileNetV2 model owned by libmnv2.

    ``Model(preset="reduced", classes=10, threads=0, **options)`` builds a new model: ``preset`` is
    "reduced" (the seed paper's 32x32 network) or "standard" (torchvision's mobilenet_v2, 224x224),
    ``threads`` 0 uses every CPU; any other option of ``mnv2.OPTIONS`` (``lr=``, ``optimizer="sgd"``,
    ``max_batch=``, ``input_size=``, ``blocks=[(t, c, n, s), ...]``, ...) is set by name.
    A model must not be used by two threads at the same time; distinct models are independent.
    """

    def __init__(self, preset="reduced", classes=None, threads=0, *, input_size=None, blocks=None, **options):
        if preset not in _options.PRESETS:
            raise ValueError(f"preset: expected one of {', '.join(_options.PRESETS)}; got {preset!r}")
        if classes is not None:
            options["classes"] = classes
        options["threads"] = threads
        if input_size is not None:
            h, w = (input_size, input_size) if isinstance(input_size, int) else tuple(input_size)
            options["input_height"], options["input_width"] = h, w
        cfg = C.c_void_p()
        check(lib.mnv2_config_create(_options.PRESETS[preset], C.byref(cfg)), "mnv2_config_create")
        try:
            for name, value in options.items():
                key, is_float, v = _options.encode(name, value)
                st = (lib.mnv2_config_set_float if is_float else lib.mnv2_config_set_int)(cfg, key, v)
                check(st, f"option {name}")
            if blocks is not None:
                rows = np.ascontiguousarray(np.array(blocks, dtype=np.int64))
                if rows.ndim != 2 or rows.shape[1] != 4:
                    raise ValueError(f"blocks: expected rows of (t, c, n, s); got shape {rows.shape}")
                rows32 = rows.astype(np.int32)
                check(lib.mnv2_config_set_blocks(cfg, rows32.ctypes.data, rows32.shape[0]), "blocks")
            handle = C.c_void_p()
            check(lib.mnv2_model_create(cfg, C.byref(handle)), "mnv2_model_create")
        finally:
            lib.mnv2_config_destroy(cfg)
        self._init(handle, class_names=None)

    # -- construction helpers -------------------------------------------------------------------
    def _init(self, handle, class_names):
        self._h = handle
        self.class_names = class_names
        self.checkpoint_blob = None
        self._param_ptr = None
        g = self._get_int
        self.input_shape = (g(K.KEY_INPUT_HEIGHT), g(K.KEY_INPUT_WIDTH), g(K.KEY_INPUT_CHANNELS))
        self.classes = g(K.KEY_CLASSES)
        self.max_batch = g(K.KEY_MAX_BATCH)
        self.trainable = bool(g(K.KEY_TRAINABLE))
        self._tensors = self._read_tensor_table()
        self._norm = self._read_normalization()
        self._loss = C.c_float()

    @classmethod
    def _wrap(cls, handle, info):
        self = cls.__new__(cls)
        names = None
        if info:
            arr, n = C.POINTER(C.c_char_p)(), C.c_uint32()
            check(lib.mnv2_file_info_class_names(info, C.byref(arr), C.byref(n)))
            names = [arr[i].decode(errors="replace") for i in range(n.value)] or None
        self._init(handle, names)
        return self

    @staticmethod
    def _load_options(max_batch, threads, trainable, isa_max):
        o = LoadOptions()
        check(lib.mnv2_load_options_default(C.byref(o)))
        o.max_batch = max_batch
        o.threads = threads
        o.trainable = -1 if trainable is None else int(bool(trainable))
        o.isa_max = -2 if isa_max is None else _options.encode("isa_max", isa_max)[2]
        return o

    @classmethod
    def load(cls, path, *, max_batch=0, threads=0, trainable=None, isa_max=None):
        """Load a model file written by save() or by the C API (mnv2_model_save()).
        ``max_batch`` 0 and ``trainable`` None keep what the file says; ``threads`` 0 = all CPUs."""
        return cls._load_file(lib.mnv2_model_load, path, max_batch, threads, trainable, isa_max)

    @classmethod
    def from_checkpoint(cls, path, *, max_batch=0, threads=0, isa_max=None):
        """Load a checkpoint (save_checkpoint(), or mnv2-train's): weights, optimizer state, step and
        dropout stream, to continue training bit-identically. The caller blob is ``checkpoint_blob``."""
        m = cls._load_file(lib.mnv2_checkpoint_load, path, max_batch, threads, None, isa_max, blob=True)
        return m

    @classmethod
    def _load_file(cls, fn, path, max_batch, threads, trainable, isa_max, blob=False):
        opts = cls._load_options(max_batch, threads, trainable, isa_max)
        handle, info = C.c_void_p(), C.c_void_p()
        check(fn(_fs(path), C.byref(opts), C.byref(handle), C.byref(info)), f"loading {path}")
        try:
            self = cls._wrap(handle, info)
            if blob:
                data, size = C.c_void_p(), C.c_uint64()
                check(lib.mnv2_file_info_blob(info, C.byref(data), C.byref(size)))
                self.checkpoint_blob = C.string_at(data, size.value) if size.value else b""
        finally:
            lib.mnv2_file_info_destroy(info)
        return self

    def __del__(self):
        h = getattr(self, "_h", None)
        if h:
            lib.mnv2_model_destroy(h)
            self._h = None

    # -- options -------------------------------------------------------------------------------
    def _get_int(self, key):
        v = C.c_int64()
        check(lib.mnv2_model_get_int(self._h, key, C.byref(v)))
        return v.value

    def _get_float(self, key):
        v = C.c_double()
        check(lib.mnv2_model_get_float(self._h, key, C.byref(v)))
        return v.value

    def get(self, name):
        """The current value of option ``name`` (enums as their number)."""
        key, kind, _ = _options.OPTIONS[name] if name in _options.OPTIONS else (None, None, None)
        if key is None:
            _options.encode(name, 0)  # raises the unknown-option TypeError
        return self._get_float(key) if kind == "float" else self._get_int(key)

    def set(self, **options):
        """Set training options on the model (``lr=``, ``optimizer=``, ``weight_decay=``, ...).
        Structural options raise Error MNV2_ERR_READ_ONLY."""
        for name, value in options.items():
            key, is_float, v = _options.encode(name, value)
            st = (lib.mnv2_model_set_float if is_float else lib.mnv2_model_set_int)(self._h, key, v)
            check(st, f"option {name}")

    @property
    def isa(self):
        """Name of the instruction-set level the model's kernels use."""
        return lib.mnv2_isa_name(self._get_int(K.KEY_ISA)).decode()

    @property
    def step_count(self):
        """Optimizer steps taken so far."""
        return self._get_int(K.KEY_STEP)

    def config(self):
        """The model's configuration: every option by name, plus ``blocks`` (rows t, c, n, s)."""
        cfg = C.c_void_p()
        check(lib.mnv2_model_get_config(self._h, C.byref(cfg)))
        try:
            out = {}
            for name, (key, kind, _) in _options.OPTIONS.items():
                if name == "bn_momentum_torch":
                    continue
                if kind == "float":
                    v = C.c_double()
                    check(lib.mnv2_config_get_float(cfg, key, C.byref(v)))
                else:
                    v = C.c_int64()
                    check(lib.mnv2_config_get_int(cfg, key, C.byref(v)))
                out[name] = v.value
            n = C.c_uint32()
            check(lib.mnv2_config_get_blocks(cfg, None, 0, C.byref(n)))
            rows = np.zeros((n.value, 4), np.int32)
            check(lib.mnv2_config_get_blocks(cfg, rows.ctypes.data, n.value, C.byref(n)))
            out["blocks"] = [tuple(int(v) for v in r) for r in rows]
            return out
        finally:
            lib.mnv2_config_destroy(cfg)

    def stat(self, stat, batch=0):
        """A fact of mnv2_model_stat() (mnv2.constants.STAT_*)."""
        v = C.c_uint64()
        check(lib.mnv2_model_stat(self._h, stat, batch, C.byref(v)))
        return v.value

    # -- normalization ---------------------------------------------------------------------------
    def _read_normalization(self):
        n = C.c_uint32()
        check(lib.mnv2_model_get_normalization(self._h, None, None, 0, C.byref(n)))
        if n.value == 0:
            return None
        mean, std = np.zeros(n.value, np.float32), np.zeros(n.value, np.float32)
        check(lib.mnv2_model_get_normalization(self._h, mean.ctypes.data, std.ctypes.data, n.value, C.byref(n)))
        return mean, std

    @property
    def normalization(self):
        """(mean, std) float32 arrays the model's uint8 inputs are standardised with, as
        (pixel / 255 - mean) / std; None when the model has none (uint8 inputs are then pixel / 255)."""
        return None if self._norm is None else (self._norm[0].copy(), self._norm[1].copy())

    @normalization.setter
    def normalization(self, value):
        if value is None:
            check(lib.mnv2_model_set_normalization(self._h, None, None, 0))
        else:
            mean = np.ascontiguousarray(np.atleast_1d(np.asarray(value[0], dtype=np.float32)))
            std = np.ascontiguousarray(np.atleast_1d(np.asarray(value[1], dtype=np.float32)))
            if mean.shape != std.shape or mean.ndim != 1:
                raise ValueError(f"normalization: mean and std must be equal-length vectors; got shapes "
                                 f"{mean.shape} and {std.shape}")
            check(lib.mnv2_model_set_normalization(self._h, mean.ctypes.data, std.ctypes.data, mean.size))
        self._norm = self._read_normalization()

    def _standardize(self, x):
        """uint8 NHWC -> float32, as the library's batch iterator does it (in float32)."""
        out = x.astype(np.float32)
        out /= np.float32(255.0)
        if self._norm is not None:
            out -= self._norm[0]
            out /= self._norm[1]
        return out

    def prepare(self, images):
        """Fit uint8 HWC images of any size and channel count to the model input (grey replicated, RGB
        to luma, zero padding or bilinear resizing: mnv2_fit_image()) and standardise them with the
        model's normalization. ``images``: (N, h, w, c) or (h, w, c) uint8. Returns float32 NHWC."""
        if not isinstance(images, np.ndarray) or images.dtype != np.uint8:
            raise TypeError(f"images: expected a uint8 array (N, h, w, c) or (h, w, c); got {_arrays._describe(images)}")
        x = images[None] if images.ndim == 3 else images
        if x.ndim != 4:
            raise ValueError(f"images: expected (N, h, w, c) or (h, w, c); got {_arrays._describe(images)}")
        x = np.ascontiguousarray(x)
        H, W, Ch = self.input_shape
        out = np.empty((x.shape[0], H, W, Ch), np.float32)
        mean = std = None
        n = 0
        if self._norm is not None:
            mean, std = self._norm
            n = mean.size
        per = H * W * Ch
        for i in range(x.shape[0]):
            check(lib.mnv2_fit_image(x[i].ctypes.data, x.shape[1], x.shape[2], x.shape[3], H, W, Ch,
                                     None if mean is None else mean.ctypes.data,
                                     None if std is None else std.ctypes.data, n,
                                     out.ctypes.data + i * per * 4, per), "mnv2_fit_image")
        return out

    # -- compute -------------------------------------------------------------------------------
    def forward(self, x, train=False):
        """Logits (batch, classes) float32 for ``x``: NHWC float32 C-contiguous of the model's input
        shape, or uint8 images standardised with ``normalization``. ``train=True`` runs a training
        forward (batch statistics, dropout; keeps activations for backward()) and refuses a batch
        above ``max_batch``; inference splits such a batch into chunks."""
        x, kind = _arrays.images(x, self.input_shape)
        if kind == "uint8":
            x = self._standardize(x)
        n = x.shape[0]
        if train and n > self.max_batch:
            raise ValueError(f"x: a training batch holds at most max_batch = {self.max_batch} images; "
                             f"got {n} (create the model with a larger max_batch)")
        logits = np.empty((n, self.classes), np.float32)
        mode = K.MODE_TRAIN if train else K.MODE_INFER
        if n <= self.max_batch:
            self._forward(x, n, mode, logits)
        else:
            for s in range(0, n, self.max_batch):
                e = min(n, s + self.max_batch)
                self._forward(x[s:e], e - s, mode, logits[s:e])
        return logits

    def _forward(self, x, n, mode, logits):
        st = lib.mnv2_forward(self._h, x.ctypes.data, x.size, n, mode, logits.ctypes.data, logits.size)
        if st:
            check(st, "mnv2_forward")

    def predict(self, x):
        """Inference logits (batch, classes); any batch size (split into chunks of max_batch)."""
        return self.forward(x, train=False)

    def classify(self, x):
        """The predicted class index of each image (argmax of predict())."""
        return np.argmax(self.predict(x), axis=1)

    def backward(self, y):
        """Cross-entropy against labels ``y`` (one per image of the last training forward);
        accumulates gradients; returns the mean loss."""
        y = _arrays.labels(y, len(y) if hasattr(y, "__len__") else -1, self.classes)
        st = lib.mnv2_backward(self._h, y.ctypes.data, y.shape[0], C.byref(self._loss))
        if st:
            check(st, "mnv2_backward")
        return float(self._loss.value)

    def step(self, lr=None):
        """Apply the optimizer (the schedule's learning rate, or ``lr``) and clear the gradients."""
        st = lib.mnv2_step(self._h) if lr is None else lib.mnv2_step_lr(self._h, float(lr))
        if st:
            check(st, "mnv2_step")

    def zero_grad(self):
        """Clear the accumulated gradients without stepping."""
        check(lib.mnv2_zero_grad(self._h), "mnv2_zero_grad")

    def train_step(self, x, y, lr=None):
        """One optimizer step on the batch (x, y): training forward, cross-entropy backward, step.
        Returns the batch's mean loss (before the step). ``x`` as forward(); at most max_batch images."""
        x, kind = _arrays.images(x, self.input_shape)
        n = x.shape[0]
        if n > self.max_batch:
            raise ValueError(f"x: a training batch holds at most max_batch = {self.max_batch} images; "
                             f"got {n} (create the model with a larger max_batch)")
        y = _arrays.labels(y, n, self.classes)
        if kind == "uint8":
            x = self._standardize(x)
        h = self._h
        st = lib.mnv2_forward(h, x.ctypes.data, x.size, n, K.MODE_TRAIN, None, 0)
        if st == 0:
            st = lib.mnv2_backward(h, y.ctypes.data, n, C.byref(self._loss))
            if st == 0:
                st = lib.mnv2_step(h) if lr is None else lib.mnv2_step_lr(h, float(lr))
        if st:
            check(st, "train_step")
        return float(self._loss.value)

    def schedule_lr(self, step=None):
        """The learning rate the schedule gives at optimizer step ``step`` (default: the next one)."""
        v = C.c_float()
        check(lib.mnv2_schedule_lr(self._h, self.step_count if step is None else step, C.byref(v)))
        return v.value

    # -- tensors -------------------------------------------------------------------------------
    def _read_tensor_table(self):
        n = C.c_uint32()
        check(lib.mnv2_tensor_count(self._h, C.byref(n)))
        out = collections.OrderedDict()
        for i in range(n.value):
            name, kind, nd, numel = C.c_char_p(), C.c_int32(), C.c_uint32(), C.c_uint64()
            dims = (C.c_uint32 * 4)()
            check(lib.mnv2_tensor_info(self._h, i, C.byref(name), C.byref(kind), C.byref(nd), dims, C.byref(numel)))
            out[name.value.decode()] = (i, kind.value, tuple(dims[:nd.value]), numel.value)
        return out

    def tensors(self):
        """[(name, kind, shape)] of every named tensor, in the library's order (kind: "param",
        "running_mean", "running_var"). Shapes are mnv2's layouts (see include/mnv2.h)."""
        kinds = {K.TENSOR_PARAM: "param", K.TENSOR_RUNNING_MEAN: "running_mean", K.TENSOR_RUNNING_VAR: "running_var"}
        return [(nm, kinds[k], shape) for nm, (i, k, shape, n) in self._tensors.items()]

    def state_dict(self):
        """Copies of every named tensor: {name: float32 array in mnv2's layout}. Names follow
        torchvision's state_dict (mnv2.torch converts the layouts)."""
        out = collections.OrderedDict()
        for nm, (i, kind, shape, numel) in self._tensors.items():
            a = np.empty(shape, np.float32)
            check(lib.mnv2_tensor_read(self._h, i, K.DATA_VALUE, a.ctypes.data, numel), nm)
            out[nm] = a
        return out

    def load_state_dict(self, sd, strict=True):
        """Overwrite tensors from {name: float32 array of the tensor's shape}. With ``strict`` every
        tensor must be given and no other name. Nothing is converted: another dtype is a TypeError."""
        if strict:
            missing = [k for k in self._tensors if k not in sd]
            extra = [k for k in sd if k not in self._tensors]
            if missing or extra:
                raise KeyError(f"load_state_dict: missing {missing[:5]}{'...' if len(missing) > 5 else ''}, "
                               f"unexpected {extra[:5]}{'...' if len(extra) > 5 else ''}")
        for nm, a in sd.items():
            if nm not in self._tensors:
                continue
            i, kind, shape, numel = self._tensors[nm]
            if not isinstance(a, np.ndarray) or a.dtype != np.float32:
                raise TypeError(f"{nm}: expected a float32 array of shape {shape}; got {_arrays._describe(a)}")
            if a.shape != shape:
                raise ValueError(f"{nm}: expected shape {shape}; got {a.shape}")
            a = np.ascontiguousarray(a)
            check(lib.mnv2_tensor_write(self._h, i, K.DATA_VALUE, a.ctypes.data, numel), nm)

    def _flat(self, fn, what, writeable):
        n = C.c_uint64()
        ptr = fn(self._h, C.byref(n))
        if not ptr:
            raise Error(K.ERR_BAD_STATE, f"{what}: not available on this model (inference-only?)")
        return _arrays.view(self, ptr, n.value, writeable=writeable)

    @property
    def parameters(self):
        """Every trainable parameter as one float32 array: a read-only, zero-copy view of the
        library's contiguous buffer (tensor order). Write through ``with model.editing() as (p, b):``."""
        return self._flat(lib.mnv2_parameters, "parameters", False)

    @property
    def gradients(self):
        """Every gradient, laid out as ``parameters``: a writable zero-copy view (for an all-reduce
        between forward/backward and step())."""
        return self._flat(lib.mnv2_gradients, "gradients", True)

    @property
    def buffers(self):
        """BN running statistics as one float32 array: a read-only zero-copy view."""
        return self._flat(lib.mnv2_buffers, "buffers", False)

    @property
    def optimizer_state(self):
        """The optimizer's state (Adam: first then second moments; SGD: momentum): read-only view."""
        return self._flat(lib.mnv2_optimizer_state, "optimizer_state", False)

    @contextlib.contextmanager
    def editing(self):
        """Writable views (parameters, buffers); on exit the library is told they changed (it keeps
        batch norm folded into the inference weights and refolds them then)."""
        try:
            yield (self._flat(lib.mnv2_parameters, "parameters", True), self._flat(lib.mnv2_buffers, "buffers", True))
        finally:
            n = C.c_uint64()
            lib.mnv2_parameters(self._h, C.byref(n))
            lib.mnv2_buffers(self._h, C.byref(n))

    # -- files ---------------------------------------------------------------------------------
    def save(self, path, class_names=None):
        """Save the model (configuration, tensors, class names, normalization) to ``path`` atomically;
        a C program loads it with mnv2_model_load()."""
        arr, n = _names_array(class_names if class_names is not None else self.class_names)
        check(lib.mnv2_model_save(self._h, arr, n, _fs(path)), f"saving {path}")

    def save_checkpoint(self, path, blob=b"", class_names=None):
        """Save a checkpoint (model, optimizer state, step, dropout stream, ``blob`` bytes)."""
        arr, n = _names_array(class_names if class_names is not None else self.class_names)
        blob = bytes(blob)
        check(lib.mnv2_checkpoint_save(self._h, None, blob if blob else None, len(blob), arr, n, _fs(path)),
              f"saving {path}")

    # -- training loop ---------------------------------------------------------------------------
    def fit(self, x, y=None, *, epochs=1, batch=None, warmup_epochs=None, schedule="recipe", flip=True,
            pad_crop=0, shuffle=True, seed=0, validation=None, progress=True, log=None):
        """Train for ``epochs`` epochs; returns a list of per-epoch dicts (loss, lr, and with
        ``validation`` (x, y) or a Dataset: val_loss, val_top1).

        ``x`` is an mnv2.datasets.Dataset (images fitted to the model input by the library's batch
        iterator), uint8 images (N, H, W, C) of the model's input shape with labels ``y``, or float32
        NHWC arrays with ``y`` (used as given: no standardisation, no pad-crop).
        ``schedule="recipe"`` (default) is the paper's recipe: Adam at the model's lr, linear warm-up
        from lr * warmup_scale over ``warmup_epochs`` (default epochs / 6, at most 5), then cosine
        decay to 0 at the last step; ``schedule=None`` keeps the model's own schedule.
        Augmentation: random horizontal ``flip`` and, for uint8 data, ``pad_crop`` pixels.
        uint8 data is standardised with the model's normalization; a model without one gets the
        training set's per-channel mean / std first (stored with the model)."""
        from .datasets import Dataset
        batch = self.max_batch if batch is None else int(batch)
        if not 1 <= batch <= self.max_batch:
            raise ValueError(f"batch: expected 1 .. max_batch = {self.max_batch}; got {batch}")
        if isinstance(x, Dataset):
            source = _IterSource(self, x, batch, flip, pad_crop, shuffle, seed)
        else:
            x, kind = _arrays.images(x, self.input_shape)
            y = _arrays.labels(y, x.shape[0], self.classes)
            if kind == "uint8":
                ds = Dataset.from_arrays(x, y, classes=self.classes)
                source = _IterSource(self, ds, batch, flip, pad_crop, shuffle, seed)
            else:
                if pad_crop:
                    raise ValueError("pad_crop: only for uint8 data or a Dataset (float32 inputs are used as given)")
                source = _ArraySource(x, y, batch, flip, shuffle, seed)
        steps = source.steps_per_epoch
        if schedule == "recipe":
            s0 = self.step_count
            w = warmup_epochs if warmup_epochs is not None else min(5, max(1, round(epochs / 6)))
            self.set(schedule="warmup_cosine", total_steps=s0 + steps * epochs)
            if s0 == 0:
                self.set(warmup_steps=steps * min(w, epochs))
        elif schedule is not None:
            raise ValueError(f"schedule: expected 'recipe' or None; got {schedule!r}")
        bar = _Progress(progress, steps, log)
        history = []
        for ep in range(epochs):
            bar.start(ep, epochs)
            total, count, t0 = 0.0, 0, time.monotonic()
            lr = self.schedule_lr()
            for xb, yb in source.epoch():
                loss = self.train_step(xb, yb)
                total += loss * len(yb)
                count += len(yb)
                bar.update(total / count)
            rec = {"epoch": ep + 1, "loss": total / max(count, 1), "lr": lr, "seconds": time.monotonic() - t0}
            if validation is not None:
                r = self.evaluate(*validation) if isinstance(validation, tuple) else self.evaluate(validation)
                rec["val_loss"], rec["val_top1"] = r["loss"], r["top1"]
            bar.end(rec)
            history.append(rec)
        return history

    def evaluate(self, x, y=None, *, batch=None):
        """{"loss", "top1", "top5"} over a Dataset (fitted to the input, standardised with the
        model's normalization) or arrays (x, y) as forward() takes them. Inference mode."""
        from .datasets import Dataset
        if isinstance(x, Dataset):
            opts = BatchOptions()
            check(lib.mnv2_batch_options_default(C.byref(opts)))
            opts.batch = batch or 0
            keep = self._norm_options(opts)
            loss, top1, top5 = C.c_double(), C.c_double(), C.c_double()
            check(lib.mnv2_evaluate(self._h, x._h, C.byref(opts), C.byref(loss), C.byref(top1), C.byref(top5)),
                  "mnv2_evaluate")
            del keep
            return {"loss": loss.value, "top1": top1.value, "top5": top5.value}
        logits = self.predict(x)
        y = _arrays.labels(y, logits.shape[0], self.classes)
        z = logits.astype(np.float64)
        z -= z.max(axis=1, keepdims=True)
        lse = np.log(np.exp(z).sum(axis=1))
        loss = float(np.mean(lse - z[np.arange(len(y)), y]))
        top1 = float(np.mean(np.argmax(logits, axis=1) == y))
        k = min(5, self.classes)
        # rank of the label: classes with a higher logit, or an equal one at a lower index (argmax ties)
        ly = logits[np.arange(len(y)), y][:, None]
        idx = np.arange(self.classes)[None, :]
        rank = np.sum((logits > ly) | ((logits == ly) & (idx < y[:, None])), axis=1)
        return {"loss": loss, "top1": top1, "top5": float(np.mean(rank < k))}

    def _norm_options(self, opts):
        """Set opts' norm / mean / std from the model's normalization; returns arrays to keep alive."""
        if self._norm is None:
            opts.norm = K.NORM_NONE
            return None
        mean, std = self._norm
        if mean.size == 1:
            opts.norm = K.NORM_GLOBAL
        else:
            opts.norm = K.NORM_CHANNEL
        opts.mean = mean.ctypes.data_as(C.POINTER(C.c_float))
        opts.std = std.ctypes.data_as(C.POINTER(C.c_float))
        return (mean, std)

    def __repr__(self):
        h, w, c = self.input_shape
        return (f"mnv2.Model(input {h}x{w}x{c}, {self.classes} classes, max_batch {self.max_batch}, "
                f"{'trainable' if self.trainable else 'inference only'}, isa {self.isa})")


class _IterSource:
    """Batches from the library's batch iterator over a Dataset (deterministic shuffle / augmentation)."""

    def __init__(self, model, ds, batch, flip, pad_crop, shuffle, seed):
        if model._norm is None:
            ch = model.input_shape[2]
            mean, std = np.zeros(ch, np.float32), np.zeros(ch, np.float32)
            check(lib.mnv2_dataset_stats(ds._h, K.NORM_CHANNEL, ch, mean.ctypes.data, std.ctypes.data),
                  "mnv2_dataset_stats")
            model.normalization = (mean, std)
        opts = BatchOptions()
        check(lib.mnv2_batch_options_default(C.byref(opts)))
        h, w, c = model.input_shape
        opts.batch, opts.height, opts.width, opts.channels = batch, h, w, c
        opts.shuffle, opts.flip, opts.pad_crop, opts.seed = int(shuffle), int(flip), int(pad_crop), int(seed)
        self._keep = model._norm_options(opts)
        self.ds = ds
        self.it = C.c_void_p()
        check(lib.mnv2_batch_iter_create(ds._h, C.byref(opts), C.byref(self.it)), "mnv2_batch_iter_create")
        steps = C.c_uint64()
        check(lib.mnv2_batch_iter_info(self.it, C.byref(steps), None, None, None))
        self.steps_per_epoch = steps.value
        self.x = np.empty((batch, h, w, c), np.float32)
        self.y = np.empty(batch, np.int32)

    def epoch(self):
        got = C.c_uint32()
        while True:
            check(lib.mnv2_batch_next(self.it, self.x.ctypes.data, self.x.size, self.y.ctypes.data, self.y.size,
                                      C.byref(got)), "mnv2_batch_next")
            if got.value == 0:
                return
            yield self.x[:got.value], self.y[:got.value]

    def __del__(self):
        if getattr(self, "it", None):
            lib.mnv2_batch_iter_destroy(self.it)
            self.it = None


class _ArraySource:
    """Batches from float32 arrays, shuffled with numpy's generator seeded per epoch."""

    def __init__(self, x, y, batch, flip, shuffle, seed):
        self.x, self.y, self.batch, self.flip, self.shuffle = x, y, batch, flip, shuffle
        self.rng = np.random.default_rng(seed)
        self.steps_per_epoch = math.ceil(len(y) / batch)

    def epoch(self):
        n = len(self.y)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        for s in range(0, n, self.batch):
            idx = order[s:s + self.batch]
            xb = self.x[idx]
            if self.flip:
                f = self.rng.random(len(idx)) < 0.5
                xb[f] = xb[f][:, :, ::-1]
            yield np.ascontiguousarray(xb), self.y[idx]


class _Progress:
    """A tqdm bar when tqdm is installed, otherwise one updating line on stderr."""

    def __init__(self, enabled, steps, log):
        self.enabled, self.steps, self.log = enabled, steps, log
        self.tqdm = None
        if enabled:
            try:
                import tqdm
                self.tqdm = tqdm.tqdm
            except ImportError:
                pass

    def start(self, ep, epochs):
        self.i, self.label, self.last = 0, f"epoch {ep + 1}/{epochs}", 0.0
        if self.enabled and self.tqdm:
            self.bar = self.tqdm(total=self.steps, desc=self.label, leave=True)

    def update(self, loss):
        self.i += 1
        if not self.enabled:
            return
        if self.tqdm:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
        elif time.monotonic() - self.last > 0.5 or self.i == self.steps:
            self.last = time.monotonic()
            sys.stderr.write(f"\r{self.label}: {self.i}/{self.steps} loss {loss:.4f}")
            sys.stderr.flush()

    def end(self, rec):
        msg = f"{self.label}: loss {rec['loss']:.4f}" + (
            f", val_loss {rec['val_loss']:.4f}, val_top1 {rec['val_top1']:.4f}" if "val_loss" in rec else "") + \
            f" ({rec['seconds']:.1f} s)"
        if self.enabled:
            if self.tqdm:
                self.bar.close()
                sys.stderr.write(msg + "\n")
            else:
                sys.stderr.write("\r" + msg + "\n")
        if self.log:
            self.log(rec)
