#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Run the pytest suite of the mnv2 package (meson test 'python'). Exits 77 (skipped) when numpy
or pytest is missing. Arguments go to pytest."""
import os
import sys

try:
    import numpy  # noqa: F401
    import pytest
except ImportError as e:
    print(f"{e.name} not installed (Debian: python3-numpy python3-pytest): skipped")
    sys.exit(77)

here = os.path.dirname(os.path.abspath(__file__))
sys.exit(pytest.main(["-q", "-rs", "-p", "no:cacheprovider", here] + sys.argv[1:]))
