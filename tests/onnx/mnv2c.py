# SPDX-License-Identifier: BSD-2-Clause
"""ctypes access to the few mnv2 calls the ONNX tests use (include/mnv2.h, include/mnv2_data.h)."""
import ctypes as C

I32, I64, F64, U32, U64, SZ = C.c_int32, C.c_int64, C.c_double, C.c_uint32, C.c_uint64, C.c_size_t
P, FP = C.c_void_p, C.POINTER(C.c_float)
KEY = dict(CLASSES=1, H=2, W=3, C=4, WIDTH=7, BN_EPS=10, DROPOUT=11, MAX_BATCH=12, SEED=13, THREADS=14, TRAINABLE=16)
STANDARD, REDUCED = 1, 2
BN_NODES, NHWC, STANDARDIZE = 1, 2, 4
ERR_UNSUPPORTED, ERR_FORMAT = -12, -9


class Mnv2:
    def __init__(self, path):
        lib = self.lib = C.CDLL(path)
        lib.mnv2_last_error.restype = C.c_char_p
        for fn, args in [("mnv2_config_create", [I32, C.POINTER(P)]), ("mnv2_config_set_int", [P, I32, I64]),
                         ("mnv2_config_set_float", [P, I32, F64]), ("mnv2_model_create", [P, C.POINTER(P)]),
                         ("mnv2_model_get_int", [P, I32, C.POINTER(I64)]),
                         ("mnv2_model_get_float", [P, I32, C.POINTER(F64)]),
                         ("mnv2_forward", [P, FP, SZ, U32, I32, FP, SZ]),
                         ("mnv2_model_set_normalization", [P, FP, FP, U32]),
                         ("mnv2_model_get_normalization", [P, FP, FP, U32, C.POINTER(U32)]),
                         ("mnv2_config_get_blocks", [P, C.POINTER(I32), U32, C.POINTER(U32)]),
                         ("mnv2_model_get_config", [P, C.POINTER(P)]),
                         ("mnv2_model_export_onnx", [P, U32, C.c_char_p]),
                         ("mnv2_model_import_onnx", [C.c_char_p, P, C.POINTER(P)]),
                         ("mnv2_model_import_onnx_mem", [C.c_char_p, SZ, P, C.POINTER(P)]),
                         ("mnv2_buffers", [P, C.POINTER(U64)]), ("mnv2_parameters", [P, C.POINTER(U64)])]:
            getattr(lib, fn).argtypes = args
            getattr(lib, fn).restype = I32
        lib.mnv2_buffers.restype = FP
        lib.mnv2_parameters.restype = FP
        lib.mnv2_model_destroy.argtypes = [P]
        lib.mnv2_model_destroy.restype = None
        lib.mnv2_config_destroy.argtypes = [P]
        lib.mnv2_config_destroy.restype = None

    def ok(self, st):
        if st != 0:
            raise SystemExit(f"mnv2 error {st}: {self.lib.mnv2_last_error().decode()}")

    def last_error(self):
        return self.lib.mnv2_last_error().decode()

    def model(self, preset, ints=(), floats=()):
        cfg, m = P(), P()
        self.ok(self.lib.mnv2_config_create(preset, C.byref(cfg)))
        for k, v in ints:
            self.ok(self.lib.mnv2_config_set_int(cfg, KEY[k], v))
        for k, v in floats:
            self.ok(self.lib.mnv2_config_set_float(cfg, KEY[k], v))
        self.ok(self.lib.mnv2_model_create(cfg, C.byref(m)))
        self.lib.mnv2_config_destroy(cfg)
        return m

    def get_int(self, m, key):
        v = I64()
        self.ok(self.lib.mnv2_model_get_int(m, KEY[key], C.byref(v)))
        return v.value

    def get_float(self, m, key):
        v = F64()
        self.ok(self.lib.mnv2_model_get_float(m, KEY[key], C.byref(v)))
        return v.value

    def forward(self, m, x_nhwc):
        """x: numpy float32 [B, H, W, C]; returns numpy logits [B, classes]."""
        import numpy as np
        x = np.ascontiguousarray(x_nhwc, dtype=np.float32)
        k = self.get_int(m, "CLASSES")
        out = np.zeros((x.shape[0], k), np.float32)
        self.ok(self.lib.mnv2_forward(m, x.ctypes.data_as(FP), x.size, x.shape[0], 0, out.ctypes.data_as(FP), out.size))
        return out

    def randomize_stats(self, m, rng):
        """Spread BN running statistics and parameters so that folding them matters."""
        import numpy as np
        n = U64()
        b = self.lib.mnv2_buffers(m, C.byref(n))
        buf = np.ctypeslib.as_array(b, shape=(n.value,))
        buf[:] = rng.uniform(0.2, 1.5, n.value).astype(np.float32)  # means and variances alike, > 0
        p = self.lib.mnv2_parameters(m, C.byref(n))
        par = np.ctypeslib.as_array(p, shape=(n.value,))
        par += rng.normal(0, 0.02, n.value).astype(np.float32)
        self.lib.mnv2_parameters(m, C.byref(n))  # tells the model its parameters changed

    def blocks(self, m):
        cfg = P()
        self.ok(self.lib.mnv2_model_get_config(m, C.byref(cfg)))
        rows, n = (I32 * 256)(), U32()
        self.ok(self.lib.mnv2_config_get_blocks(cfg, rows, 64, C.byref(n)))
        self.lib.mnv2_config_destroy(cfg)
        return [tuple(rows[4 * i:4 * i + 4]) for i in range(n.value)]
