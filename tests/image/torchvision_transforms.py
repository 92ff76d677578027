#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""libmnv2-image's transforms against torchvision's, through ctypes.

usage: torchvision_transforms.py LIBMNV2_IMAGE.so IMAGENET_CLASSES.txt

Checks, on random uint8 images of odd sizes (grey and RGB), upscaling and downscaling:
  - mnv2_image_resized_crop == torchvision.transforms.functional.resized_crop(..., antialias=True)
    on uint8 tensors (the training transform's resampling, for any crop box);
  - mnv2_image_eval_geometry + mnv2_image_resized_crop == CenterCrop(Resize(size, antialias=True))
    (the evaluation transform);
  - the same against PIL (torchvision's default image backend for ImageFolder), whose 8-bit
    resampling rounds to 8 bits between its horizontal and vertical passes and uses fixed-point
    weights: many pixels then differ by one level, none by more;
  - the shipped ImageNet-1k class names == torchvision's pretrained weights' categories.
Tolerances (8-bit levels): tensor path, every pixel within 1 level (float summation order) and
at most 0.5% of them off at all; PIL, within 1 level and at most 40% off (a wrong filter,
support or centring moves most pixels by several levels).
Exits 77 (skipped) without torch / torchvision / PIL.
"""
import ctypes
import sys

try:
    import numpy as np
    import torch
    import torchvision
    import torchvision.transforms.functional as F
    from PIL import Image
except ImportError as e:  # pragma: no cover
    print(f"skipped: {e}")
    sys.exit(77)

lib = ctypes.CDLL(sys.argv[1])
u32 = ctypes.c_uint32
lib.mnv2_image_resized_crop.argtypes = [ctypes.c_void_p] + [u32] * 13 + [ctypes.c_void_p]
lib.mnv2_image_eval_geometry.argtypes = [u32] * 5 + [ctypes.POINTER(u32)] * 4
lib.mnv2_image_last_error.restype = ctypes.c_char_p
failures = []


def mnv2_resized_crop(img, top, left, bh, bw, oh, ow, win=None):
    h, w, c = img.shape
    wt, wl, wh, ww = win if win else (0, 0, oh, ow)
    src = np.ascontiguousarray(img)
    out = np.zeros((wh, ww, c), np.uint8)
    rc = lib.mnv2_image_resized_crop(src.ctypes.data, h, w, c, top, left, bh, bw, oh, ow, wt, wl, wh, ww,
                                     out.ctypes.data)
    assert rc == 0, lib.mnv2_image_last_error()
    return out


def compare(name, ours, theirs, max_level, max_frac):
    d = np.abs(ours.astype(int) - theirs.astype(int))
    frac = float((d > 0).mean())
    ok = d.max() <= max_level and frac <= max_frac
    print(f"{'ok  ' if ok else 'FAIL'} {name}: max diff {d.max()}, {100 * frac:.3f}% differ")
    if not ok:
        failures.append(name)


def to_tensor(img):
    return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))


def from_tensor(t):
    return t.numpy().transpose(1, 2, 0)


def pil(img):
    return Image.fromarray(img[:, :, 0] if img.shape[2] == 1 else img)


def from_pil(p, c):
    a = np.asarray(p)
    return a[:, :, None] if c == 1 else a


rng = np.random.default_rng(7)
cases = [  # h, w, c, (top, left, bh, bw), (oh, ow)
    (375, 500, 3, (10, 31, 300, 411), (224, 224)),
    (375, 500, 3, (0, 0, 375, 500), (224, 224)),
    (97, 131, 3, (5, 9, 40, 23), (224, 224)),     # upscaling
    (97, 131, 1, (0, 0, 97, 131), (32, 32)),
    (640, 427, 3, (100, 7, 213, 419), (37, 53)),
    (33, 35, 3, (1, 2, 30, 31), (33, 35)),
]
for h, w, c, (t, l, bh, bw), (oh, ow) in cases:
    # Smooth content plus noise, as photographs have both.
    yy, xx = np.mgrid[0:h, 0:w]
    base = (127 + 100 * np.sin(yy / 17.0)[..., None] * np.cos(xx / 23.0)[..., None]).repeat(c, 2)
    img = np.clip(base + rng.normal(0, 30, (h, w, c)), 0, 255).astype(np.uint8)
    ours = mnv2_resized_crop(img, t, l, bh, bw, oh, ow)
    theirs = from_tensor(F.resized_crop(to_tensor(img), t, l, bh, bw, [oh, ow], antialias=True))
    compare(f"resized_crop {h}x{w}x{c} box {bh}x{bw} -> {oh}x{ow} (tensor)", ours, theirs, 1, 0.005)
    pil_out = from_pil(F.resized_crop(pil(img), t, l, bh, bw, [oh, ow]), c)
    compare(f"resized_crop {h}x{w}x{c} box {bh}x{bw} -> {oh}x{ow} (PIL)", ours, pil_out, 1, 0.4)
    # Evaluation: Resize(shorter side) + CenterCrop.
    size = oh
    resize = round(size * 256 / 224)
    g = [u32() for _ in range(4)]
    assert lib.mnv2_image_eval_geometry(h, w, resize, size, size, *[ctypes.byref(x) for x in g]) == 0
    rh, rw, wt, wl = (x.value for x in g)
    ours = mnv2_resized_crop(img, 0, 0, h, w, rh, rw, (wt, wl, size, size))
    tt = F.center_crop(F.resize(to_tensor(img), resize, antialias=True), [size, size])
    compare(f"eval {h}x{w}x{c} resize {resize} crop {size} (tensor)", ours, from_tensor(tt), 1, 0.005)
    tp = from_pil(F.center_crop(F.resize(pil(img), resize), [size, size]), c)
    compare(f"eval {h}x{w}x{c} resize {resize} crop {size} (PIL)", ours, tp, 1, 0.4)

# The shipped class names.
with open(sys.argv[2], encoding="utf-8") as f:
    names = [line.rstrip("\n") for line in f]
cats = torchvision.models.MobileNet_V2_Weights.IMAGENET1K_V1.meta["categories"]
wrong = [(i, a, b) for i, (a, b) in enumerate(zip(names, cats)) if a != b]
if len(names) != len(cats) or wrong:
    print(f"FAIL class names: {len(names)} lines, torchvision has {len(cats)}; first differences: {wrong[:10]}")
    failures.append("class names")
else:
    print(f"ok   class names: {len(names)} match torchvision's, e.g. 207 = {names[207]!r}")

if failures:
    print(f"{len(failures)} failed: {failures}")
    sys.exit(1)
