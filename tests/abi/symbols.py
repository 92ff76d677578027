#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Check the shared library's dynamic symbols against the public headers and the version script.

usage: symbols.py [--map VERSION_SCRIPT] [--baseline RELEASE.abi]... LIBRARY.so SONAME HEADER...

Fails when a symbol is exported but not declared with MNV2_API in a header (a leak), when an
MNV2_API declaration has no exported symbol (missing), when an exported symbol is not in a
version node, when the soname is not SONAME, or when the library carries an RPATH/RUNPATH.
(libxkbcommon's test/symbols-leak-test.py does the same job.)

With --map: the version script lists by name exactly the MNV2_API declarations, each in one node,
with no wildcard outside 'local:', each later node inheriting the one before; every exported
symbol carries the version of its node. With --baseline (an abidw dump of a release, abi/*.abi):
every version node of that release lists exactly the symbols it had then (released nodes never
change; new symbols go into a new node).
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


def exported_versions(lib):
    """{symbol: version} of the defined dynamic symbols."""
    nm = os.environ.get('NM', 'nm')
    out = subprocess.run([nm, '-D', '--defined-only', '--with-symbol-versions', lib],
                         check=True, capture_output=True, text=True).stdout
    versions = {}
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[1] != 'A':
            name, _, version = fields[2].partition('@')
            versions[name] = version.lstrip('@')
    return versions


def version_script(path):
    """[(node, [global symbols], [wildcards outside local:], parent)] in file order."""
    with open(path, encoding='utf-8') as f:
        text = re.sub(r'/\*.*?\*/', ' ', f.read(), flags=re.S)
        text = re.sub(r'#[^\n]*', ' ', text)
    nodes = []
    for m in re.finditer(r'([A-Za-z_][\w.]*)\s*\{(.*?)\}\s*([A-Za-z_][\w.]*)?\s*;', text, re.S):
        name, body, parent = m.group(1), m.group(2), m.group(3)
        globs, wild, section = [], [], 'global'
        for tok in re.findall(r'[^\s;]+:?|;', body):
            if tok in ('global:', 'local:'):
                section = tok[:-1]
            elif tok == ';':
                continue
            elif section == 'global':
                (wild if re.search(r'[*?\[]', tok) else globs).append(tok)
        nodes.append((name, globs, wild, parent))
    return nodes


def baseline_nodes(path):
    """{version node: set of symbols} of a release's abidw dump."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    nodes = {}
    for m in re.finditer(r"<elf-symbol name='([^']+)' version='([^']*)'", text):
        nodes.setdefault(m.group(2), set()).add(m.group(1))
    return nodes


def check_map(path, want, versions, baselines):
    errors = []
    nodes = version_script(path)
    if not nodes:
        return [f'{path}: no version node found']
    listed = {}
    for i, (name, globs, wild, parent) in enumerate(nodes):
        for w in wild:
            errors.append(f'{path}: node {name} exports by wildcard: {w}')
        expected_parent = nodes[i - 1][0] if i else None
        if parent != expected_parent:
            errors.append(f'{path}: node {name} inherits {parent}, expected {expected_parent}')
        for sym in globs:
            if sym in listed:
                errors.append(f'{path}: {sym} listed in {listed[sym]} and {name}')
            listed.setdefault(sym, name)
    for s in sorted(set(listed) - want):
        errors.append(f'{path}: lists {s}, not declared MNV2_API')
    for s in sorted(want - set(listed)):
        errors.append(f'{path}: does not list MNV2_API {s} (add it to a new node, see the file)')
    for s, node in sorted(listed.items()):
        if s in versions and versions[s] != node:
            errors.append(f'exported {s}@{versions[s]}, but {path} puts it in {node}')
    node_syms = {name: set(globs) for name, globs, _, _ in nodes}
    for base in baselines:
        for node, syms in sorted(baseline_nodes(base).items()):
            have = node_syms.get(node)
            if have is None:
                errors.append(f'{path}: released node {node} ({os.path.basename(base)}) is missing')
                continue
            for s in sorted(syms - have):
                errors.append(f'{path}: {s} left released node {node}')
            for s in sorted(have - syms):
                errors.append(f'{path}: {s} added to released node {node} (put it in a new node)')
    return errors


def main():
    args = sys.argv[1:]
    mapfile, baselines = None, []
    while args and args[0] in ('--map', '--baseline'):
        if len(args) < 2:
            sys.exit(__doc__)
        if args[0] == '--map':
            mapfile = args[1]
        else:
            baselines.append(args[1])
        args = args[2:]
    if len(args) < 3:
        sys.exit(__doc__)
    lib, soname, headers = args[0], args[1], args[2:]
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

    if mapfile:
        errors += check_map(mapfile, want, exported_versions(lib), baselines)
    elif baselines:
        errors.append('--baseline needs --map')

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
