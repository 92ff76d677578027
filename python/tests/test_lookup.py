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
