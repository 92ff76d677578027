#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause
"""Render a tool's --help text as its section-1 man page, so that the two cannot drift.

usage: man_from_help.py [--check MANPAGE] VERSION TOOL [WRAPPER...]
  Runs `[WRAPPER...] TOOL --help` and prints the page (troff, man macros) on stdout; with --check,
  compares it with MANPAGE instead and fails (exit 1) on any difference.

The --help layout every tool follows (docs/cli.md):
  usage: TOOL ...            one or more synopsis lines ("   or: TOOL ..." for the others)
  One-line summary.          then more description lines, up to an empty line
  <Heading>:                 e.g. "Options:", "Arguments:": entries "  TERM   text", continued by
                             lines indented deeper than TERM
  other paragraphs           notes, rendered as paragraphs of DESCRIPTION
"""
import os
import re
import subprocess
import sys

COMMON = r'''.SH EXIT STATUS
.TP
.B 0
success (also for \fB\-\-help\fR and \fB\-\-version\fR, which print on standard output)
.TP
.B 1
runtime error: one line \fI{tool}: message\fR on standard error; also when standard output
cannot be written (full disk, closed pipe)
.TP
.B 2
usage error: the message and the usage on standard error
.SH CONVENTIONS
Options take their value as \fB\-\-name VALUE\fR or \fB\-\-name=VALUE\fR; \fB\-\-\fR ends the
options. \fB\-\-model FILE\fR always names a model file and \fB\-\-preset P\fR a built-in network;
\fB\-\-threads N\fR defaults to 0, all cores, in every tool.
.SH SEE ALSO
{see_also}
'''

TOOLS = ['mnv2-train', 'mnv2-infer', 'mnv2-summary', 'mnv2-bench', 'idx2pgm']


def esc(text):
    """Escape plain text for troff: backslashes, hyphens of options, leading dots and quotes."""
    text = text.replace('\\', r'\e').replace('-', r'\-')
    return re.sub(r"^([.'])", r'\\&\1', text)


def term(text):
    """An option or argument term: options in bold, metavariables in italics."""
    out = []
    for word in re.split(r'(\s+|,\s*)', text):
        if word.startswith('-'):
            name, eq, val = word.partition('=')
            out.append(r'\fB' + esc(name) + r'\fR' + (('=' + r'\fI' + esc(val) + r'\fR') if eq else ''))
        elif re.fullmatch(r'[A-Z][A-Za-z0-9_.|\[\]]*(\.\.\.)?', word) or re.fullmatch(r'[A-Z]+x[A-Z]+x[A-Z]+', word):
            out.append(r'\fI' + esc(word) + r'\fR')
        else:
            out.append(esc(word))
    return ''.join(out)


def render(tool, version, helptext):
    lines = helptext.rstrip('\n').split('\n')
    paras, cur = [], []
    for line in lines:
        if line.strip():
            cur.append(line)
        elif cur:
            paras.append(cur)
            cur = []
    if cur:
        paras.append(cur)
    head = paras.pop(0)
    synopsis = [re.sub(r'^\s*(usage|or):\s*', '', l) for l in head if re.match(r'^\s*(usage|or):', l)]
    desc = [l.strip() for l in head if not re.match(r'^\s*(usage|or):', l)]
    if not synopsis or not desc:
        sys.exit(f'{tool}: --help must start with "usage: {tool} ..." and a one-line summary')
    summary = desc[0].rstrip('.')
    summary = summary[0].lower() + summary[1:]

    out = [f'.\\" Generated from `{tool} --help` by tools/man_from_help.py: edit the help text, not this.',
           f'.TH {tool.upper()} 1 "" "mnv2 {version}" "mnv2 manual"',
           '.SH NAME', f'{esc(tool)} \\- {esc(summary)}', '.SH SYNOPSIS']
    for i, s in enumerate(synopsis):
        if i:
            out.append('.br')
        words = s.split(' ', 1)
        out.append(r'\fB' + esc(words[0]) + r'\fR' + (' ' + term(words[1]) if len(words) > 1 else ''))
    out.append('.SH DESCRIPTION')
    out.append(esc(' '.join(desc)))
    sections = []
    for p in paras:
        m = re.fullmatch(r'([A-Z][A-Za-z ]*):', p[0])
        if m:
            sections.append((m.group(1).upper(), p[1:]))
        else:
            out.append('.PP')
            out.append(esc(' '.join(l.strip() for l in p)))
    for title, body in sections:
        out.append('.SH ' + title)
        entry_indent = None
        for line in body:
            indent = len(line) - len(line.lstrip())
            m = re.match(r'^(\s+)(\S.*?)(?:\s{2,}(\S.*))?$', line)
            if entry_indent is None or indent <= entry_indent:
                entry_indent = indent
                out.append('.TP')
                out.append(term(m.group(2)))
                if m.group(3):
                    out.append(esc(m.group(3)))
            else:
                # A continuation line; a lone name (e.g. a list of cases) gets a line of its own.
                text = line.strip()
                if re.fullmatch(r'[a-z0-9_]+', text):
                    out.append('.br')
                    out.append(r'\fB' + esc(text) + r'\fR')
                else:
                    out.append(esc(text))
    see = [f'.BR {t} (1),' for t in TOOLS if t != tool] + ['.BR mnv2 (3)']
    out.append(COMMON.format(tool=tool, see_also='\n'.join(see)).rstrip('\n'))
    return '\n'.join(out) + '\n'


def main(argv):
    check = None
    if len(argv) > 1 and argv[1] == '--check':
        check = argv[2]
        argv = [argv[0]] + argv[3:]
    if len(argv) < 3:
        sys.exit(__doc__)
    version, cmd = argv[1], argv[2:]
    tool = os.path.basename(cmd[-1])
    wrapper, exe = cmd[:-1], cmd[-1]
    res = subprocess.run(wrapper + [exe, '--help'], capture_output=True, text=True)
    if res.returncode != 0 or res.stderr:
        sys.exit(f'{exe} --help: exit {res.returncode}, stderr {res.stderr!r}')
    page = render(tool, version, res.stdout)
    if check:
        with open(check, encoding='utf-8') as f:
            have = f.read()
        if have != page:
            print(f'{check} differs from `{tool} --help` rendered now')
            return 1
        # Every option of --help is in the page.
        for opt in sorted(set(re.findall(r'(?<![\w-])--?[a-zA-Z][\w-]*', res.stdout))):
            if esc(opt) not in have:
                print(f'{check}: {opt} missing')
                return 1
        print(f'{check}: matches {tool} --help')
        return 0
    sys.stdout.write(page)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
