# SPDX-License-Identifier: BSD-2-Clause
"""Weights between mnv2 and torchvision's mobilenet_v2 (imports torch / torchvision when called).

``from_torchvision(module_or_state_dict)`` builds an mnv2.Model with the same architecture (any
width, any block table, any classes), batch-norm eps and momentum, and weights;
``to_torchvision(model)`` returns a torchvision MobileNetV2 module holding mnv2's weights.
Tensor names are the same on both sides; only the layouts differ (mnv2: 1x1 conv [Cin][Cout],
depthwise [3][3][C], stem [3][3][Cin][Cout], classifier [Cin][classes]).

    net = torchvision.models.mobilenet_v2(weights="IMAGENET1K_V1")
    mnv2.torch.from_torchvision(net).save("mobilenet_v2.mnv2")
"""
import functools

import numpy as np

from .model import Model

# torchvision's mobilenet_v2 block table (t, c, n, s), for a bare state_dict (it holds no strides)
_TORCHVISION_ROWS = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
                     (6, 320, 1, 1)]


def _torch():
    try:
        import torch
        import torchvision
    except ImportError as e:  # pragma: no cover - depends on the installation
        raise ImportError("mnv2.torch needs torch and torchvision (Debian: python3-torch python3-torchvision)") from e
    return torch, torchvision


def _to_mnv2(t):
    """A torch tensor in torchvision's layout -> float32 numpy array in mnv2's layout."""
    a = t.detach().cpu().float().numpy()
    if a.ndim == 4 and a.shape[1] == 1 and a.shape[2] == 3:  # depthwise [C,1,3,3] -> [3][3][C]
        a = a[:, 0].transpose(1, 2, 0)
    elif a.ndim == 4 and a.shape[2] == 3:  # stem [Co,Ci,3,3] -> [3][3][Ci][Co]
        a = a.transpose(2, 3, 1, 0)
    elif a.ndim == 4:  # 1x1 [Co,Ci,1,1] -> [Ci][Co]
        a = a[:, :, 0, 0].T
    elif a.ndim == 2:  # linear [K,Ci] -> [Ci][K]
        a = a.T
    return np.ascontiguousarray(a, dtype=np.float32)


def _to_torch(a, torch_shape):
    """An mnv2 array -> numpy array in torchvision's layout (``torch_shape`` picks the case)."""
    if a.ndim == 3:  # depthwise [3][3][C] -> [C,1,3,3]
        b = a.transpose(2, 0, 1)[:, None]
    elif a.ndim == 4:  # stem [3][3][Ci][Co] -> [Co,Ci,3,3]
        b = a.transpose(3, 2, 0, 1)
    elif a.ndim == 2 and len(torch_shape) == 4:  # 1x1 [Ci][Co] -> [Co,Ci,1,1]
        b = a.T[:, :, None, None]
    elif a.ndim == 2:  # linear [Ci][K] -> [K,Ci]
        b = a.T
    else:
        b = a
    b = np.ascontiguousarray(b)
    if tuple(b.shape) != tuple(torch_shape):
        raise ValueError(f"shape {b.shape} does not match the torch module's {tuple(torch_shape)}")
    return b


def _structure(sd):
    """(input channels, stem, [(t, cout)], head, classes, n_blocks) read from a torchvision state_dict."""
    try:
        stem_w = sd["features.0.0.weight"]
        cls_w = sd["classifier.1.weight"]
    except KeyError as e:
        raise ValueError(f"not a torchvision mobilenet_v2 state_dict: no {e}") from None
    cin, stem = int(stem_w.shape[1]), int(stem_w.shape[0])
    blocks, c, i = [], stem, 1
    while f"features.{i}.conv.0.0.weight" in sd:
        first = sd[f"features.{i}.conv.0.0.weight"]
        if first.shape[1] == 1:  # depthwise first: t = 1
            t, cout = 1, int(sd[f"features.{i}.conv.1.weight"].shape[0])
        else:
            hid = int(first.shape[0])
            if hid % c:
                raise ValueError(f"features.{i}: expansion {hid}/{c} is not an integer, which mnv2 cannot express")
            t, cout = hid // c, int(sd[f"features.{i}.conv.2.weight"].shape[0])
        blocks.append((t, cout))
        c, i = cout, i + 1
    head = int(sd[f"features.{i}.0.weight"].shape[0])
    return cin, stem, blocks, head, int(cls_w.shape[0])


def from_torchvision(module_or_state_dict, *, input_size=224, strides=None, max_batch=32, threads=0, **options):
    """An mnv2.Model equal to a torchvision mobilenet_v2 (module or state_dict).

    From a module, strides, dropout and batch-norm eps / momentum are read from it; a state_dict
    holds none of these: strides default to torchvision's table when the block count is its 17
    (otherwise pass ``strides``, one per block), eps / momentum / dropout to torchvision's defaults
    (override with ``bn_eps=``, ``bn_momentum_torch=``, ``dropout=``). ``input_size`` is the input
    height and width the model is built for (the weights do not depend on it). Other keyword
    options go to mnv2.Model."""
    torch, _ = _torch()
    nn = torch.nn
    if isinstance(module_or_state_dict, nn.Module):
        net = module_or_state_dict
        sd = net.state_dict()
        bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
        eps = {m.eps for m in bns}
        mom = {m.momentum for m in bns}
        if len(eps) != 1 or len(mom) != 1 or None in mom:
            raise ValueError(f"batch norms must share one eps and one momentum (not None); got eps {eps}, "
                             f"momentum {mom}")
        options.setdefault("bn_eps", eps.pop())
        options.setdefault("bn_momentum_torch", mom.pop())
        drop = [m.p for m in net.classifier.modules() if isinstance(m, nn.Dropout)] if hasattr(net, "classifier") else []
        options.setdefault("dropout", drop[0] if drop else 0.0)
        if strides is None:
            strides = []
            for m in list(net.features)[1:]:
                convs = [c for c in m.modules() if isinstance(c, nn.Conv2d) and c.kernel_size == (3, 3)]
                if hasattr(m, "conv") and convs:
                    strides.append(int(convs[0].stride[0]))
    else:
        sd = dict(module_or_state_dict)
        options.setdefault("bn_eps", 1e-5)
        options.setdefault("bn_momentum_torch", 0.1)
        options.setdefault("dropout", 0.2)
    cin, stem, blocks, head, classes = _structure(sd)
    if strides is None:
        if len(blocks) != 17:
            raise ValueError(f"a state_dict with {len(blocks)} blocks (not torchvision's 17): pass strides=[...]")
        strides = [s if i == 0 else 1 for (t, c, n, s) in _TORCHVISION_ROWS for i in range(n)]
    if len(strides) != len(blocks):
        raise ValueError(f"strides: expected one per block ({len(blocks)}); got {len(strides)}")
    rows = [(t, c, 1, s) for (t, c), s in zip(blocks, strides)]
    model = Model("standard", classes=classes, threads=threads, input_size=input_size, blocks=rows,
                  input_channels=cin, stem_channels=stem, head_channels=head, width_mult=1.0,
                  max_batch=max_batch, **options)
    ours = dict((nm, shape) for nm, kind, shape in model.tensors())
    theirs = {k for k in sd if not k.endswith("num_batches_tracked")}
    if set(ours) != theirs:
        raise ValueError(f"tensor names differ: only in torch {sorted(theirs - set(ours))[:5]}, "
                         f"only in mnv2 {sorted(set(ours) - theirs)[:5]}")
    new = {}
    for nm, shape in ours.items():
        a = _to_mnv2(sd[nm])
        if a.shape != shape:
            raise ValueError(f"{nm}: torch shape {tuple(sd[nm].shape)} does not map to mnv2's {shape} "
                             "(channel counts that are not multiples of 8 cannot be expressed)")
        new[nm] = a
    model.load_state_dict(new)
    return model


def to_torchvision(model):
    """A torchvision MobileNetV2 module (in eval mode) with the architecture, batch-norm settings
    and weights of the mnv2.Model ``model``."""
    torch, torchvision = _torch()
    nn = torch.nn
    from torchvision.models.mobilenetv2 import InvertedResidual
    from torchvision.ops.misc import Conv2dNormActivation

    cfg = model.config()
    shapes = {nm: shape for nm, kind, shape in model.tensors()}
    norm = functools.partial(nn.BatchNorm2d, eps=cfg["bn_eps"], momentum=1.0 - cfg["bn_momentum"])
    cin = model.input_shape[2]
    stem = shapes["features.0.0.weight"][3]
    features = [Conv2dNormActivation(cin, stem, stride=2, norm_layer=norm, activation_layer=nn.ReLU6)]
    strides = [s if i == 0 else 1 for (t, c, n, s) in cfg["blocks"] for i in range(n)]
    c = stem
    for b, s in enumerate(strides, start=1):
        first = shapes[f"features.{b}.conv.0.0.weight"]
        if len(first) == 2:  # expansion 1x1 [Cin][hid]
            t = first[1] // c
            cout = shapes[f"features.{b}.conv.2.weight"][1]
        else:
            t, cout = 1, shapes[f"features.{b}.conv.1.weight"][1]
        features.append(InvertedResidual(c, cout, s, t, norm_layer=norm))
        c = cout
    head = shapes[f"features.{len(strides) + 1}.0.weight"][1]
    features.append(Conv2dNormActivation(c, head, kernel_size=1, norm_layer=norm, activation_layer=nn.ReLU6))
    net = torchvision.models.MobileNetV2(num_classes=model.classes, dropout=cfg["dropout"], norm_layer=norm)
    net.features = nn.Sequential(*features)
    net.classifier = nn.Sequential(nn.Dropout(p=cfg["dropout"]), nn.Linear(head, model.classes))
    net.last_channel = head
    target = net.state_dict()
    sd = {}
    for nm, a in model.state_dict().items():
        if nm not in target:
            raise ValueError(f"{nm}: no counterpart in the torchvision module")
        sd[nm] = torch.from_numpy(_to_torch(a, target[nm].shape))
    missing = [k for k in target if k not in sd and not k.endswith("num_batches_tracked")]
    if missing:
        raise ValueError(f"torchvision tensors without an mnv2 counterpart: {missing[:5]}")
    net.load_state_dict(sd, strict=False)
    return net.eval()
