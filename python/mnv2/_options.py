# SPDX-License-Identifier: BSD-2-Clause
"""Keyword options of mnv2.Model and the pinned integer keys they set (include/mnv2.h)."""
import numbers

from . import constants as K

OPTIMIZERS = {"adam": K.OPTIMIZER_ADAM, "adamw": K.OPTIMIZER_ADAMW, "sgd": K.OPTIMIZER_SGD}
SCHEDULES = {"constant": K.SCHEDULE_CONSTANT, "warmup_cosine": K.SCHEDULE_WARMUP_COSINE}
INITS = {"torchvision": K.INIT_TORCHVISION, "keras": K.INIT_KERAS, "torch": K.INIT_TORCH}
ISAS = {"scalar": K.ISA_SCALAR, "sse41": K.ISA_SSE41, "avx2": K.ISA_AVX2, "avx512": K.ISA_AVX512,
        "neon": K.ISA_NEON}
PRESETS = {"standard": K.PRESET_STANDARD, "reduced": K.PRESET_REDUCED}

# name: (key, "int" | "float" | "bool" | enum dict, structural?)
OPTIONS = {
    "classes": (K.KEY_CLASSES, "int", True),
    "input_height": (K.KEY_INPUT_HEIGHT, "int", True),
    "input_width": (K.KEY_INPUT_WIDTH, "int", True),
    "input_channels": (K.KEY_INPUT_CHANNELS, "int", True),
    "stem_channels": (K.KEY_STEM_CHANNELS, "int", True),
    "head_channels": (K.KEY_HEAD_CHANNELS, "int", True),
    "width_mult": (K.KEY_WIDTH_MULT, "float", True),
    "expansion": (K.KEY_EXPANSION, "int", True),
    "bn_momentum": (K.KEY_BN_MOMENTUM, "float", True),
    "bn_momentum_torch": (K.KEY_BN_MOMENTUM_TORCH, "float", True),
    "bn_eps": (K.KEY_BN_EPS, "float", True),
    "dropout": (K.KEY_DROPOUT, "float", True),
    "max_batch": (K.KEY_MAX_BATCH, "int", True),
    "seed": (K.KEY_SEED, "int", True),
    "threads": (K.KEY_THREADS, "int", True),
    "isa_max": (K.KEY_ISA_MAX, ISAS, True),
    "trainable": (K.KEY_TRAINABLE, "bool", True),
    "init": (K.KEY_INIT, INITS, True),
    "optimizer": (K.KEY_OPTIMIZER, OPTIMIZERS, False),
    "lr": (K.KEY_LR, "float", False),
    "beta1": (K.KEY_BETA1, "float", False),
    "beta2": (K.KEY_BETA2, "float", False),
    "adam_eps": (K.KEY_ADAM_EPS, "float", False),
    "weight_decay": (K.KEY_WEIGHT_DECAY, "float", False),
    "momentum": (K.KEY_MOMENTUM, "float", False),
    "nesterov": (K.KEY_NESTEROV, "bool", False),
    "schedule": (K.KEY_LR_SCHEDULE, SCHEDULES, False),
    "warmup_scale": (K.KEY_WARMUP_SCALE, "float", False),
    "warmup_steps": (K.KEY_WARMUP_STEPS, "int", False),
    "total_steps": (K.KEY_TOTAL_STEPS, "int", False),
    "label_smoothing": (K.KEY_LABEL_SMOOTHING, "float", False),
    "step": (K.KEY_STEP, "int", False),
    "decay_all": (K.KEY_DECAY_ALL, "bool", False),
}


def encode(name, value):
    """(key, is_float, C value) for option ``name``; TypeError / ValueError on a bad name or value."""
    if name not in OPTIONS:
        raise TypeError(f"unknown option {name!r}; known options: {', '.join(sorted(OPTIONS))}")
    key, kind, _ = OPTIONS[name]
    if isinstance(kind, dict):
        if isinstance(value, str):
            if value not in kind:
                raise ValueError(f"{name}: expected one of {', '.join(sorted(kind))}; got {value!r}")
            return key, False, kind[value]
        if isinstance(value, numbers.Integral) and not isinstance(value, bool) and (value in kind.values() or name == "isa_max"):
            return key, False, int(value)
        raise ValueError(f"{name}: expected one of {', '.join(sorted(kind))}; got {value!r}")
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name}: expected a number; got {type(value).__name__} {value!r}")
        return key, True, float(value)
    if kind == "bool":
        if not isinstance(value, (bool, numbers.Integral)) or value not in (0, 1):
            raise TypeError(f"{name}: expected True or False; got {value!r}")
        return key, False, int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer; got {type(value).__name__} {value!r}")
    return key, False, int(value)
