# SPDX-License-Identifier: BSD-2-Clause
"""mnv2: MobileNetV2 training and inference on CPUs, from Python.

A thin layer over libmnv2 (ctypes, numpy): ``mnv2.Model`` trains and runs a network held by the
library; ``mnv2.datasets`` reads CIFAR / IDX files into numpy arrays; ``mnv2.torch`` converts to and
from torchvision's mobilenet_v2 (imports torch only when used). Every library error is raised as
``mnv2.Error`` with the status name and the library's own message.
"""
from . import constants, datasets
from ._lib import ABI_MAJOR, Error, LibraryNotFound, lib as _lib, path as library_path
from ._options import OPTIONS
from .datasets import Dataset
from .model import Model

__version__ = "0.1.0"


def library_version():
    """Version of the libmnv2 actually loaded, as text ("0.1.0")."""
    return _lib.mnv2_version_string().decode()


def cpu_isa():
    """Name of the highest instruction-set level this process uses ("avx2", ...)."""
    return _lib.mnv2_isa_name(_lib.mnv2_cpu_isa()).decode()


__all__ = ["Model", "Dataset", "Error", "LibraryNotFound", "datasets", "constants", "OPTIONS",
           "library_version", "library_path", "cpu_isa", "ABI_MAJOR"]
