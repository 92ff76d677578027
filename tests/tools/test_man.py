# SPDX-License-Identifier: BSD-2-Clause
"""The library's overview man page, docs/mnv2.3: it names every MNV2_API function of the public
headers and renders without warnings. (The tools' pages are checked by man_from_help.py --check.)

Run by meson (suite 'tools') with MNV2_SOURCE_ROOT set to the source tree.
"""
import importlib.util
import os
import re
import shutil
import subprocess

import pytest

ROOT = os.environ.get('MNV2_SOURCE_ROOT', '.')


def declared():
    spec = importlib.util.spec_from_file_location('symbols', os.path.join(ROOT, 'tests', 'abi', 'symbols.py'))
    symbols = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(symbols)
    inc = os.path.join(ROOT, 'include')
    return symbols.declared([os.path.join(inc, h) for h in sorted(os.listdir(inc)) if h.endswith('.h')])


def test_names_every_function():
    with open(os.path.join(ROOT, 'docs', 'mnv2.3'), encoding='utf-8') as f:
        page = f.read()
    named = set(re.findall(r'\bmnv2_[a-z0-9_]+\b', page))
    missing = sorted(declared() - named)
    assert not missing, f'docs/mnv2.3 does not name: {missing}'


def test_renders_without_warnings():
    if not shutil.which('groff'):
        pytest.skip('groff not installed')
    r = subprocess.run(['groff', '-man', '-Tutf8', '-ww', '-z', os.path.join(ROOT, 'docs', 'mnv2.3')],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stderr == '', r.stderr
