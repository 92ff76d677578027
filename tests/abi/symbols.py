#!/usr/bin/env python3
"""Check the shared library's dynamic symbols against the public headers.

usage: symbols.py LIBRARY.so SONAME HEADER...

Fails when a symbol is exported but not declared with MNV2_API in a header (a leak), when an
MNV2_API declaration has no exported symbol (missing), when an exported symbol is not in a
version node, when the soname is not SONAME, or when the library carries an RPATH/RUNPATH.
(libxkbcommon's test/symbols-leak-test.py does the same job.)
"""
import os
import re
import subprocess
import sys


def declared(headers):
    names = set()
    for path in headers:
        with open(path, encoding='utf-8') as f:
            text = f.read()
        text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)   # block comments
        text = re.sub(r'//[^\n]*', ' ', text)                 # line comments
        text = re.sub(r'^\s*#.*?(?<!\\)$', ' ', text, flags=re.M | re.S)  # preprocessor lines
        for decl in re.findall(r'\bMNV2_API\b([^;{]*)', text):
            # A function: the identifier before the first '('. Data: the last identifier.
            m = re.search(r'(\w+)\s*\(', decl) or re.search(r'(\w+)\s*(?:\[[^\]]*\]\s*)*$', decl.strip())
            if not m:
                sys.exit(f'{path}: cannot parse MNV2_API declaration: {decl.strip()!r}')
            names.add(m.group(1))
    return names


def exported(lib):
    nm = os.environ.get('NM', 'nm')
    out = subprocess.run([nm, '-D', '--defined-only', '--with-symbol-versions', lib],
                         check=True, capture_output=True, text=True).stdout
    syms, unversioned = set(), set()
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 3 or fields[1] == 'A':   # 'A': the version node itself (MNV2_0.1)
            continue
        name, sep, version = fields[2].partition('@')
        syms.add(name)
        if not sep or not version.lstrip('@'):
            unversioned.add(name)
    return syms, unversioned


def dynamic_section(lib):
    readelf = os.environ.get('READELF', 'readelf')
    return subprocess.run([readelf, '-d', lib], check=True, capture_output=True, text=True).stdout


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    lib, soname, headers = sys.argv[1], sys.argv[2], sys.argv[3:]
    errors = []

    want = declared(headers)
    if not want:
        errors.append('no MNV2_API declarations found in ' + ' '.join(headers))
    have, unversioned = exported(lib)
    for s in sorted(have - want):
        errors.append(f'exported but not declared MNV2_API: {s}')
    for s in sorted(want - have):
        errors.append(f'declared MNV2_API but not exported: {s}')
    for s in sorted(unversioned & want):
        errors.append(f'exported without a symbol version (see lib/mnv2.map): {s}')

    dyn = dynamic_section(lib)
    m = re.search(r'\(SONAME\)\s+Library soname: \[([^\]]*)\]', dyn)
    if not m or m.group(1) != soname:
        errors.append(f'soname is {m.group(1) if m else "missing"}, expected {soname}')
    for tag in ('RPATH', 'RUNPATH'):
        if f'({tag})' in dyn:
            errors.append(f'{lib} has a {tag}')

    for e in errors:
        print(e)
    print(f'{len(have)} exported, {len(want)} declared, {len(errors)} problem(s)')
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
