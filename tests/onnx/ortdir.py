# SPDX-License-Identifier: BSD-2-Clause
"""Where the tests find ONNX Runtime for node (npm onnxruntime-node): $MNV2_ORT_DIR, a node_modules
folder under the build directory (ort/node_modules), or ~/.cache/mnv2/ort/node_modules. Install
one with `npm install --ignore-scripts --prefix DIR onnxruntime-node`."""
import os, shutil, subprocess


def find(build_dir=None):
    """The node_modules folder holding onnxruntime-node, or None (also when node is missing)."""
    if not shutil.which("node"):
        return None
    cands = []
    if os.environ.get("MNV2_ORT_DIR"):
        d = os.environ["MNV2_ORT_DIR"]
        cands += [d, os.path.join(d, "node_modules")]
    if build_dir:
        cands.append(os.path.join(build_dir, "ort", "node_modules"))
    cands.append(os.path.expanduser("~/.cache/mnv2/ort/node_modules"))
    for c in cands:
        if os.path.isdir(os.path.join(c, "onnxruntime-node")):
            return c
    return None


def run(node_modules, model, x, out_shape, threads=1):
    """Run `model` on the float32 array x in ONNX Runtime; returns the output as float32."""
    import numpy as np, tempfile
    here = os.path.dirname(os.path.abspath(__file__))
    with tempfile.TemporaryDirectory() as t:
        fin, fout = os.path.join(t, "in.f32"), os.path.join(t, "out.f32")
        np.ascontiguousarray(x, dtype=np.float32).tofile(fin)
        env = dict(os.environ, NODE_PATH=node_modules)
        subprocess.run(["node", os.path.join(here, "ort_run.js"), model, fin, ",".join(map(str, x.shape)), fout,
                        str(threads)], env=env, check=True)
        return np.fromfile(fout, np.float32).reshape(out_shape)
