# SPDX-License-Identifier: BSD-2-Clause
"""How the package finds libmnv2 and refuses a wrong one."""
import os
import subprocess
import sys

import mnv2

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def _import(env):
    e = dict(os.environ, PYTHONPATH=SRC, **env)
    return subprocess.run([sys.executable, "-c", "import mnv2; print(mnv2.library_path)"], env=e,
                          capture_output=True, text=True)


def test_mnv2_library_is_used():
    r = _import({"MNV2_LIBRARY": mnv2.library_path})
    assert r.returncode == 0 and r.stdout.strip() == mnv2.library_path


def test_a_missing_or_foreign_library_is_a_clear_error(tmp_path):
    r = _import({"MNV2_LIBRARY": str(tmp_path / "libnothing.so")})
    assert r.returncode != 0 and "LibraryNotFound" in r.stderr and "libnothing.so" in r.stderr
    r = _import({"MNV2_LIBRARY": "libm.so.6"})
    assert r.returncode != 0 and "not libmnv2" in r.stderr


def test_another_major_is_refused():
    # The real library, made to report version 1.0.0 (10000) through a stand-in for ctypes.CDLL.
    code = """
import ctypes
real = ctypes.CDLL
class Version:
    restype = None
    def __call__(self):
        return 10000
class Newer:
    mnv2_version = Version()
    def __init__(self, name, *args, **kwargs):
        self._lib = real(name, *args, **kwargs)
    def __getattr__(self, name):
        return getattr(self._lib, name)
ctypes.CDLL = Newer
import mnv2
"""
    e = dict(os.environ, PYTHONPATH=SRC, MNV2_LIBRARY=mnv2.library_path)
    r = subprocess.run([sys.executable, "-c", code], env=e, capture_output=True, text=True)
    assert r.returncode != 0 and "LibraryNotFound" in r.stderr, r.stderr
    assert "libmnv2 1.0.0, this package needs 0.x" in r.stderr, r.stderr
