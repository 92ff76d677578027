#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""torchvision's MobileNetV2 exported by torch.onnx.export, imported by mnv2_model_import_onnx_mem():
batch norm folded (eval export) and kept (training=TrainingMode.PRESERVE), opsets 9 (Clip bounds as
attributes), 11, 13 and 17, a non-default width and class count; then the graph variants other
exporters write (MatMul + Add classifier, ReduceMean + Reshape pooling, opset 18's ReduceMean with
its axes as an input), each made by editing the exported graph. mnv2's logits must equal torchvision's within 1e-4 relative to max |logit|. Graphs
that are not MobileNetV2 (torchvision's mobilenet_v3_small) and damaged files must be refused with
a clear error. Exits 77 (skipped) without torch, torchvision, numpy or python3-onnx.

usage: test_import_torch.py path/to/libmnv2.so
"""
import ctypes as C, io, os, sys, warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
try:
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper
    import torch, torchvision
except ImportError as e:
    print(f"{e.name} not installed: skipped")
    sys.exit(77)
import mnv2c

warnings.filterwarnings("ignore")
M = mnv2c.Mnv2(sys.argv[1])
TOL = 1e-4
failed = 0


def report(ok, text):
    global failed
    failed += not ok
    print(("ok   " if ok else "FAIL ") + text)


def make_net(classes, width):
    torch.manual_seed(0)
    net = torchvision.models.mobilenet_v2(num_classes=classes, width_mult=width)
    with torch.no_grad():  # statistics and affine terms away from their defaults, so folding shows
        for mod in net.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.2, 0.2)
                mod.running_var.uniform_(0.5, 1.5)
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.1, 0.3)
    return net.eval()


def export(net, x, opset, preserve):
    f = io.BytesIO()
    kw = dict(training=torch.onnx.TrainingMode.PRESERVE) if preserve else {}
    torch.onnx.export(net, x, f, opset_version=opset, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, **kw)
    net.eval()
    return f.getvalue()


def load(blob):
    m = M.lib.mnv2_model_import_onnx_mem(blob, len(blob), None, C.byref(mp := mnv2c.P()))
    return m, mp


def compare(name, blob, x, ref, width=None):
    st, m = load(blob)
    if st != 0:
        report(False, f"{name}: import failed: {st} {M.last_error()}")
        return
    out = M.forward(m, x.permute(0, 2, 3, 1).numpy())
    err = float(np.abs(out - ref).max() / np.abs(ref).max())
    w = M.get_float(m, "WIDTH")
    ok = err <= TOL and (width is None or w == width)
    report(ok, f"{name}: mnv2 vs torchvision {err:.2e} (max |logit| {np.abs(ref).max():.3f}), width {w}")
    M.lib.mnv2_model_destroy(m)


def matmul_add(blob):
    """Gemm(x, W, b, transB=1) -> MatMul(x, W^T) + Add(b)."""
    g = onnx.load_from_string(blob)
    nodes = list(g.graph.node)
    i = next(k for k, n in enumerate(nodes) if n.op_type == "Gemm")
    gemm = nodes[i]
    inits = {t.name: t for t in g.graph.initializer}
    w = numpy_helper.to_array(inits[gemm.input[1]])
    g.graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(w.T), "fc_wt"))
    mm = helper.make_node("MatMul", [gemm.input[0], "fc_wt"], ["fc_mm"], name="fc_matmul")
    add = helper.make_node("Add", ["fc_mm", gemm.input[2]], [gemm.output[0]], name="fc_add")
    del g.graph.node[i]
    g.graph.node.insert(i, add)
    g.graph.node.insert(i, mm)
    return g.SerializeToString()


def reducemean_reshape(blob):
    """GlobalAveragePool + Flatten -> ReduceMean(axes 2, 3, keepdims 1) + Reshape([-1, C])."""
    g = onnx.load_from_string(blob)
    nodes = list(g.graph.node)
    i = next(k for k, n in enumerate(nodes) if n.op_type == "GlobalAveragePool")
    pool, flat = nodes[i], nodes[i + 1]
    assert flat.op_type == "Flatten"
    c = next(numpy_helper.to_array(t).shape[1] for t in g.graph.initializer if t.name == next(
        n for n in nodes if n.op_type == "Gemm").input[1])
    g.graph.initializer.append(numpy_helper.from_array(np.array([-1, c], np.int64), "flat_shape"))
    rm = helper.make_node("ReduceMean", [pool.input[0]], ["pooled"], name="pool_mean", axes=[2, 3], keepdims=1)
    rs = helper.make_node("Reshape", ["pooled", "flat_shape"], [flat.output[0]], name="flatten_reshape")
    del g.graph.node[i:i + 2]
    g.graph.node.insert(i, rs)
    g.graph.node.insert(i, rm)
    return g.SerializeToString()


def opset18_reducemean(blob):
    """An opset-17 export relabelled opset 18, its pooling as ReduceMean with the axes as an input
    (the form opset 18 requires). Valid: no other operation of the graph changed in opset 18.
    Debian's python3-onnx (1.12) knows opsets up to 17, so onnx.checker cannot check this one."""
    g = onnx.load_from_string(reducemean_reshape(blob))
    for o in g.opset_import:
        if o.domain in ("", "ai.onnx"):
            o.version = 18
    rm = next(n for n in g.graph.node if n.op_type == "ReduceMean")
    del rm.attribute[:]
    rm.attribute.append(helper.make_attribute("keepdims", 1))
    g.graph.initializer.append(numpy_helper.from_array(np.array([2, 3], np.int64), "pool_axes"))
    rm.input.append("pool_axes")
    return g.SerializeToString()


for classes, width, size in [(10, 0.5, 64), (1000, 1.0, 96)]:
    net = make_net(classes, width)
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        ref = net(x).numpy()
    for opset in (9, 11, 13, 17):
        for preserve in (False, True):
            if classes == 1000 and opset not in (13,):
                continue  # the standard network once; the grid runs on the small one
            blob = export(net, x, opset, preserve)
            ops = sorted({n.op_type for n in onnx.load_from_string(blob).graph.node} - {"Constant"})
            kind = "BatchNormalization kept" if "BatchNormalization" in ops else "batch norm folded"
            compare(f"width {width}, {classes} classes, {size}px, opset {opset}, {kind} ({' '.join(ops)})", blob, x,
                    ref, width)
            if opset == 13 and not preserve and classes == 10:
                compare("  edited: MatMul + Add classifier", matmul_add(blob), x, ref, width)
                compare("  edited: ReduceMean + Reshape pooling", reducemean_reshape(blob), x, ref, width)
                good = blob
            if opset == 17 and not preserve:
                compare("  edited: opset 18, ReduceMean with its axes as an input", opset18_reducemean(blob), x, ref,
                        width)

# Refusals: a network that is not a MobileNetV2, a damaged file, an unsupported operation.
v3 = torchvision.models.mobilenet_v3_small(num_classes=10).eval()
st, _ = load(export(v3, torch.randn(1, 3, 64, 64), 13, False))
msg = M.last_error()
report(st == mnv2c.ERR_UNSUPPORTED and "node" in msg, f"mobilenet_v3_small refused: {st} ({msg})")
st, _ = load(good[:len(good) // 2])
msg = M.last_error()
report(st == mnv2c.ERR_FORMAT, f"truncated file refused: {st} ({msg})")
g = onnx.load_from_string(good)
for n in g.graph.node:
    if n.op_type == "Clip":
        n.op_type = "Relu"
        del n.input[1:]
        break
st, _ = load(g.SerializeToString())
msg = M.last_error()
report(st == mnv2c.ERR_UNSUPPORTED and "Relu" in msg, f"a Relu in place of ReLU6 refused: {st} ({msg})")
sys.exit(1 if failed else 0)
