# SPDX-License-Identifier: BSD-2-Clause
"""pytest setup: the package from this source tree (unless MNV2_TEST_INSTALLED=1), and with
MNV2_PYTHON_NO_SKIP=1 (CI) any skipped test fails the session."""
import os
import sys

import pytest

if os.environ.get("MNV2_TEST_INSTALLED") != "1":
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

_skipped = []


def pytest_runtest_logreport(report):
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("MNV2_PYTHON_NO_SKIP") == "1" and _skipped:
        print(f"\nMNV2_PYTHON_NO_SKIP=1 but {len(_skipped)} tests skipped: {_skipped[:5]}", file=sys.stderr)
        session.exitstatus = 1


@pytest.fixture
def rng():
    import numpy as np
    return np.random.default_rng(1234)
