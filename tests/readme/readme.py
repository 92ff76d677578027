#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""The README's code blocks, checked.

usage: readme.py c README.md                print the C block of "Using the API" (built and run by
                                            the 'readme_api' test and by .ci/house.sh)
       readme.py sh README.md [--dry-run]   run the README's ```sh blocks in order, from the
                                            repository root, except those in COVERED (each with
                                            where it is checked instead); fails on a block that
                                            fails, and on a COVERED entry that matches no block
"""
import re
import subprocess
import sys

# First command of a block -> where CI checks it instead of here (and why not here).
COVERED = {
    'bash examples/run-main-job.sh':
        'NOT run by CI: the main job (a dataset download, a build and minutes of training) does '
        'not fit the CI time budget; its parts are (the build and install, tools/Makefile '
        'against an installed mnv2, the tools\' options by tests/tools/test_cli.py)',
    'bash tests/run-all.sh':
        'the README\'s test command: the first stage of .ci/run',
    'meson setup build':
        'the same build and suite as tests/run-all.sh (first stage of .ci/run); meson install is '
        'the "install" test of tests/abi and .ci/house.sh\'s install into a prefix',
    'dpkg --add-architecture arm64 && apt-get update':
        'the aarch64 stage of .ci/run runs these commands',
    'dpkg --add-architecture i386 && apt-get update':
        '.ci/x86-levels.sh runs these commands (its apt-get has -y: gcc-multilib replaces the '
        'AArch64 cross compilers, which an interactive apt-get asks about)',
    'apt-get install cargo rustc':
        '.ci/rust.sh builds and tests the crates and runs the example, against an installed mnv2 '
        'through pkg-config and (meson suite rust) against build/lib through MNV2_LIB_DIR',
}


def blocks(path):
    """[(language, section heading, text)] of the fenced blocks, in order."""
    out, section = [], ''
    lines = open(path, encoding='utf-8').read().split('\n')
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith('#'):
            section = line.lstrip('#').strip()
        m = re.match(r'^```(\w*)\s*$', line)
        if m:
            j = i + 1
            while j < len(lines) and not lines[j].startswith('```'):
                j += 1
            out.append((m.group(1), section, '\n'.join(lines[i + 1:j]) + '\n'))
            i = j
        i += 1
    return out


def first_command(text):
    for line in text.split('\n'):
        cmd = line.split('#', 1)[0].strip()
        if cmd:
            return cmd
    return ''


def main(argv):
    if len(argv) < 3 or argv[1] not in ('c', 'sh'):
        sys.exit(__doc__)
    found = blocks(argv[2])
    if argv[1] == 'c':
        c = [t for lang, sec, t in found if lang == 'c' and sec == 'Using the API']
        if len(c) != 1:
            sys.exit(f'expected one ```c block under "Using the API", found {len(c)}')
        sys.stdout.write(c[0])
        return 0
    dry = '--dry-run' in argv
    used, failed = set(), 0
    for n, (lang, sec, text) in enumerate(found, 1):
        if lang != 'sh':
            continue
        first = first_command(text)
        if first in COVERED:
            used.add(first)
            print(f'--- block {n} ({sec}): {first}\n    covered elsewhere: {COVERED[first]}')
            continue
        print(f'--- block {n} ({sec}): running\n{text}', flush=True)
        if not dry and subprocess.call(['bash', '-euo', 'pipefail', '-c', text]) != 0:
            print(f'FAILED: block {n} ({sec})')
            failed += 1
    for stale in sorted(set(COVERED) - used):
        print(f'FAILED: COVERED lists "{stale}", which starts no ```sh block of the README')
        failed += 1
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
