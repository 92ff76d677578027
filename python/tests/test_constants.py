# SPDX-License-Identifier: BSD-2-Clause
"""mnv2.constants against the #defines of include/mnv2.h and include/mnv2_data.h."""
import os

import pytest

import header_constants
import mnv2


def _headers():
    inc = os.environ.get("MNV2_INCLUDE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..", "include")
    paths = [os.path.join(inc, "mnv2.h"), os.path.join(inc, "mnv2_data.h")]
    if not all(os.path.exists(p) for p in paths):
        pytest.skip("include/mnv2.h not found (set MNV2_INCLUDE_DIR)")
    return paths


def test_every_header_constant_is_in_python_with_its_value():
    want = header_constants.parse(_headers())
    assert len(want) > 80
    problems = []
    for name, value in want.items():
        short = name[len("MNV2_"):]
        if not hasattr(mnv2.constants, short):
            problems.append(f"{name} missing")
        elif getattr(mnv2.constants, short) != value:
            problems.append(f"{name}: header {value!r}, python {getattr(mnv2.constants, short)!r}")
    have = {k for k in vars(mnv2.constants) if k.isupper()}
    for extra in sorted(have - {n[len('MNV2_'):] for n in want}):
        problems.append(f"{extra} is in mnv2.constants but not in the headers")
    assert not problems, "\n".join(problems)


def test_parser_sees_a_changed_value(tmp_path):
    h = tmp_path / "x.h"
    h.write_text("#define MNV2_A 3 /**< doc */\n#define MNV2_B (-(2))\n#define MNV2_C (MNV2_A * 100 + 1)\n"
                 "#define MNV2_D 2147483648u\n#define MNV2_E \"s\"\n")
    assert header_constants.parse([str(h)]) == {"MNV2_A": 3, "MNV2_B": -2, "MNV2_C": 301, "MNV2_D": 2147483648,
                                                "MNV2_E": "s"}


def test_loaded_library_matches_the_header_version():
    assert mnv2.library_version() == mnv2.constants.VERSION_STRING
    assert mnv2._lib.mnv2_version() // 10000 == mnv2.ABI_MAJOR == mnv2.constants.VERSION_MAJOR
