#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""libmnv2-image exports exactly the functions mnv2_image.h declares with MNV2_IMAGE_API, each in
a version node of image/mnv2-image.map, and has the soname libmnv2-image.so.0.
usage: symbols.py LIBRARY.so HEADER"""
import os
import re
import subprocess
import sys

lib, header = sys.argv[1], sys.argv[2]
text = re.sub(r'/\*.*?\*/', ' ', open(header, encoding='utf-8').read(), flags=re.S)
text = re.sub(r'^\s*#.*$', ' ', text, flags=re.M)  # preprocessor lines (the macro's definition)
declared = set(re.findall(r'\bMNV2_IMAGE_API\b[^;{(]*?(\w+)\s*\(', text))
nm = os.environ.get('NM', 'nm')
out = subprocess.run([nm, '-D', '--defined-only', '--with-symbol-versions', lib], check=True,
                     capture_output=True, text=True).stdout
exported, unversioned = set(), set()
for line in out.splitlines():
    f = line.split()
    if len(f) < 3 or f[1] not in 'TDBRVW':
        continue
    name, _, version = f[2].partition('@')
    if name.startswith('MNV2_IMAGE_') and not version.strip('@'):
        continue  # the version node's own symbol
    exported.add(name)
    if not version.strip('@').startswith('MNV2_IMAGE_'):
        unversioned.add(name)
errors = []
if exported - declared:
    errors.append(f'exported but not declared: {sorted(exported - declared)}')
if declared - exported:
    errors.append(f'declared but not exported: {sorted(declared - exported)}')
if unversioned:
    errors.append(f'not in a MNV2_IMAGE_* version node: {sorted(unversioned)}')
dyn = subprocess.run(['readelf', '-d', lib], check=True, capture_output=True, text=True).stdout
if 'libmnv2-image.so.0]' not in dyn:
    errors.append('soname is not libmnv2-image.so.0')
print('\n'.join(errors) or f'{len(declared)} symbols, all declared and versioned')
sys.exit(1 if errors else 0)
