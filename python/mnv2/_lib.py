# SPDX-License-Identifier: BSD-2-Clause
"""Loading libmnv2.so.0 and declaring the C functions the package calls (ctypes).

The library is looked up, in order: the ``MNV2_LIBRARY`` environment variable (a path), the
system loader (``ctypes.util.find_library("mnv2")``, then ``libmnv2.so.0`` by soname, which
honours ``LD_LIBRARY_PATH``), then the library directory of the prefix the package was installed
into by ``meson install`` (recorded in ``_paths.py`` at build time).
"""
import ctypes as C
import ctypes.util
import os

from . import constants as K

#: The ABI major this package was written for (libmnv2.so.0).
ABI_MAJOR = 0
#: The oldest minor of that major whose functions the package calls.
MIN_VERSION = 100  # 0.1.0 as mnv2_version() encodes it

I32, I64, U32, U64, F32, F64 = C.c_int32, C.c_int64, C.c_uint32, C.c_uint64, C.c_float, C.c_double
SZ, P, CP = C.c_size_t, C.c_void_p, C.c_char_p
PP, PI32, PI64, PU32, PU64 = C.POINTER(P), C.POINTER(I32), C.POINTER(I64), C.POINTER(U32), C.POINTER(U64)
PF32, PF64, PCP, PSZ = C.POINTER(F32), C.POINTER(F64), C.POINTER(CP), C.POINTER(SZ)


class LibraryNotFound(ImportError):
    """libmnv2 could not be found or is not a compatible version."""


class BatchOptions(C.Structure):
    """struct mnv2_batch_options (include/mnv2_data.h)."""
    _fields_ = [("struct_size", U32), ("batch", U32), ("height", U32), ("width", U32), ("channels", U32),
                ("shuffle", U32), ("drop_last", U32), ("flip", U32), ("pad_crop", U32), ("norm", I32),
                ("seed", U64), ("mean", PF32), ("std", PF32)]


class LoadOptions(C.Structure):
    """struct mnv2_load_options (include/mnv2_data.h)."""
    _fields_ = [("struct_size", U32), ("max_batch", U32), ("threads", I32), ("trainable", I32), ("isa_max", I32)]


# name: (restype, argtypes). Pointers to arrays are passed as c_void_p (an int address): cheaper than
# building POINTER objects on every call.
_PROTOS = {
    "mnv2_version": (U32, []),
    "mnv2_version_string": (CP, []),
    "mnv2_status_string": (CP, [I32]),
    "mnv2_last_error": (CP, []),
    "mnv2_isa_name": (CP, [I32]),
    "mnv2_cpu_isa": (I32, []),
    "mnv2_config_create": (I32, [I32, PP]),
    "mnv2_config_destroy": (None, [P]),
    "mnv2_config_set_int": (I32, [P, I32, I64]),
    "mnv2_config_set_float": (I32, [P, I32, F64]),
    "mnv2_config_get_int": (I32, [P, I32, PI64]),
    "mnv2_config_get_float": (I32, [P, I32, PF64]),
    "mnv2_config_set_blocks": (I32, [P, P, U32]),
    "mnv2_config_get_blocks": (I32, [P, P, U32, PU32]),
    "mnv2_model_create": (I32, [P, PP]),
    "mnv2_model_destroy": (None, [P]),
    "mnv2_model_get_config": (I32, [P, PP]),
    "mnv2_model_set_int": (I32, [P, I32, I64]),
    "mnv2_model_set_float": (I32, [P, I32, F64]),
    "mnv2_model_get_int": (I32, [P, I32, PI64]),
    "mnv2_model_get_float": (I32, [P, I32, PF64]),
    "mnv2_model_stat": (I32, [P, I32, U32, PU64]),
    "mnv2_model_set_normalization": (I32, [P, P, P, U32]),
    "mnv2_model_get_normalization": (I32, [P, P, P, U32, PU32]),
    "mnv2_forward": (I32, [P, P, SZ, U32, I32, P, SZ]),
    "mnv2_backward": (I32, [P, P, U32, PF32]),
    "mnv2_step": (I32, [P]),
    "mnv2_step_lr": (I32, [P, F32]),
    "mnv2_zero_grad": (I32, [P]),
    "mnv2_schedule_lr": (I32, [P, I64, PF32]),
    "mnv2_tensor_count": (I32, [P, PU32]),
    "mnv2_tensor_find": (I32, [P, CP, PU32]),
    "mnv2_tensor_info": (I32, [P, U32, PCP, PI32, PU32, PU32, PU64]),
    "mnv2_tensor_read": (I32, [P, U32, I32, P, U64]),
    "mnv2_tensor_write": (I32, [P, U32, I32, P, U64]),
    "mnv2_parameters": (P, [P, PU64]),
    "mnv2_gradients": (P, [P, PU64]),
    "mnv2_buffers": (P, [P, PU64]),
    "mnv2_optimizer_state": (P, [P, PU64]),
    # mnv2_data.h
    "mnv2_dataset_create": (I32, [U32, U32, U32, U32, U32, P, P, PP]),
    "mnv2_dataset_destroy": (None, [P]),
    "mnv2_dataset_read_cifar10": (I32, [PCP, U32, PP]),
    "mnv2_dataset_read_cifar100": (I32, [CP, PP]),
    "mnv2_dataset_read_idx": (I32, [CP, CP, PP]),
    "mnv2_dataset_read_idx_mem": (I32, [P, SZ, P, SZ, PP]),
    "mnv2_dataset_open_dir": (I32, [CP, I32, PP]),
    "mnv2_dataset_info": (I32, [P, PU32, PU32, PU32, PU32, PU32]),
    "mnv2_dataset_image": (I32, [P, U32, PP]),
    "mnv2_dataset_label": (I32, [P, U32, PI32]),
    "mnv2_dataset_class_name": (I32, [P, U32, PCP]),
    "mnv2_dataset_set_class_names": (I32, [P, PCP, U32]),
    "mnv2_dataset_stats": (I32, [P, I32, U32, P, P]),
    "mnv2_fit_image": (I32, [P, U32, U32, U32, U32, U32, U32, P, P, U32, P, SZ]),
    "mnv2_batch_options_default": (I32, [C.POINTER(BatchOptions)]),
    "mnv2_batch_iter_create": (I32, [P, C.POINTER(BatchOptions), PP]),
    "mnv2_batch_iter_destroy": (None, [P]),
    "mnv2_batch_next": (I32, [P, P, SZ, P, U32, PU32]),
    "mnv2_batch_iter_info": (I32, [P, PU64, PU32, PU32, PU32]),
    "mnv2_evaluate": (I32, [P, P, C.POINTER(BatchOptions), PF64, PF64, PF64]),
    "mnv2_load_options_default": (I32, [C.POINTER(LoadOptions)]),
    "mnv2_model_save": (I32, [P, PCP, U32, CP]),
    "mnv2_checkpoint_save": (I32, [P, P, P, U64, PCP, U32, CP]),
    "mnv2_model_load": (I32, [CP, C.POINTER(LoadOptions), PP, PP]),
    "mnv2_checkpoint_load": (I32, [CP, C.POINTER(LoadOptions), PP, PP]),
    "mnv2_file_info_destroy": (None, [P]),
    "mnv2_file_info_class_names": (I32, [P, C.POINTER(PCP), PU32]),
    "mnv2_file_info_blob": (I32, [P, PP, PU64]),
}


def _candidates():
    env = os.environ.get("MNV2_LIBRARY")
    if env:
        # An explicit choice is the only candidate: falling back silently would hide a typo.
        return [env], True
    out = []
    found = ctypes.util.find_library("mnv2")
    if found:
        out.append(found)
    out.append("libmnv2.so.0")
    try:
        from ._paths import LIBDIR
    except ImportError:
        LIBDIR = None
    if LIBDIR:
        out.append(os.path.join(LIBDIR, "libmnv2.so.0"))
    return out, False


def _load():
    names, explicit = _candidates()
    errors = []
    for name in names:
        try:
            lib = C.CDLL(name)
        except OSError as e:
            errors.append(f"{name}: {e}")
            continue
        try:
            lib.mnv2_version.restype = U32
            v = int(lib.mnv2_version())
        except AttributeError:
            errors.append(f"{name}: not libmnv2 (no mnv2_version)")
            continue
        major = v // 10000
        if major != ABI_MAJOR or v < MIN_VERSION:
            errors.append(f"{name}: libmnv2 {major}.{v // 100 % 100}.{v % 100}, this package needs "
                          f"{ABI_MAJOR}.x (at least {MIN_VERSION // 10000}.{MIN_VERSION // 100 % 100})")
            if explicit:
                break
            continue
        for fn, (res, args) in _PROTOS.items():
            f = getattr(lib, fn)
            f.restype, f.argtypes = res, args
        return lib, name
    how = "MNV2_LIBRARY" if explicit else "MNV2_LIBRARY unset; tried the system loader and the install prefix"
    raise LibraryNotFound(f"cannot load a compatible libmnv2 ({how}):\n  " + "\n  ".join(errors))


lib, path = _load()

#: status code -> its constant's name ("MNV2_ERR_BATCH_SIZE")
STATUS_NAMES = {v: "MNV2_" + k for k, v in vars(K).items() if k.startswith(("ERR_", "OK")) and isinstance(v, int)}


class Error(Exception):
    """A libmnv2 call failed. ``status`` is the (negative) status code, ``status_name`` its
    constant's name (``"MNV2_ERR_BATCH_SIZE"``), ``detail`` the library's mnv2_last_error() text."""

    def __init__(self, status, detail, call=""):
        self.status = status
        self.status_name = STATUS_NAMES.get(status, f"status {status}")
        self.detail = detail
        self.call = call
        desc = lib.mnv2_status_string(status).decode()
        super().__init__(f"{self.status_name} ({desc}){': ' + detail if detail else ''}")


def check(status, call=""):
    """Raise Error for a non-zero status, with the library's detail message."""
    if status:
        raise Error(status, lib.mnv2_last_error().decode(errors="replace"), call)
