# SPDX-License-Identifier: BSD-2-Clause
"""The command-line convention of docs/cli.md, checked over every tool by one table.

Run by meson (suite 'tools') as: python3 -m pytest tests/tools/test_cli.py, with MNV2_TOOLS_DIR
set to the build's tools directory and MNV2_VERSION to the project version.
"""
import os
import re
import subprocess

import pytest

TOOLS_DIR = os.environ.get('MNV2_TOOLS_DIR', 'build/tools')
VERSION = os.environ.get('MNV2_VERSION', '')
ALL_TOOLS = ['mnv2-train', 'mnv2-infer', 'mnv2-summary', 'mnv2-bench', 'idx2pgm', 'mnv2-convert']
TOOLS = [t for t in ALL_TOOLS if os.access(os.path.join(TOOLS_DIR, t), os.X_OK)]

# Per tool: an option that takes a value (its value made invalid by the table), a runtime error
# (arguments that parse but fail), and '--' followed by '--help' with what then happens.
MISSING = '/nonexistent-mnv2-cli-test'
PER_TOOL = {
    'mnv2-train': {'valued': '--threads', 'runtime': ['--data', MISSING],
                   'after_dashdash': (['--', '--help'], 2)},
    'mnv2-infer': {'valued': '--threads', 'runtime': ['--model', MISSING + '.mnv2', 'x.pgm'],
                   'after_dashdash': (['--', '--help'], 2)},   # an image, but no --model
    'mnv2-summary': {'valued': '--batch', 'runtime': ['--model', MISSING],
                     'after_dashdash': (['--', '--help'], 2)},
    'mnv2-bench': {'valued': '--threads', 'runtime': ['--case', 'infer_reduced32_b1_ms', '--threads', '2000'],
                   'after_dashdash': (['--', '--help'], 2)},
    'idx2pgm': {'valued': None, 'runtime': [MISSING, '0', 'out.pgm'],
                'after_dashdash': (['--', '--help', '0', 'out.pgm'], 1)},  # '--help' is the IMAGES file
    'mnv2-convert': {'valued': None, 'runtime': [MISSING + '.mnv2', 'out.onnx'],
                     'after_dashdash': (['--', '--help', 'out.onnx'], 1)},  # '--help' is the IN file
}


def run(tool, args, stdout=subprocess.PIPE, cwd=None):
    return subprocess.run([os.path.join(TOOLS_DIR, tool)] + args, stdout=stdout,
                          stderr=subprocess.PIPE, text=True, timeout=120, cwd=cwd)


def help_text(tool):
    return run(tool, ['--help']).stdout


def test_every_tool_is_built():
    assert TOOLS == ALL_TOOLS, f'missing in {TOOLS_DIR}: {set(ALL_TOOLS) - set(TOOLS)}'


@pytest.mark.parametrize('tool', TOOLS)
@pytest.mark.parametrize('flag', ['-h', '--help'])
def test_help_to_stdout_exit_0(tool, flag):
    r = run(tool, [flag])
    assert r.returncode == 0 and r.stderr == ''
    assert r.stdout.startswith(f'usage: {tool} ')
    assert re.search(r'^  -h, --help +', r.stdout, re.M) and re.search(r'^  -V, --version +', r.stdout, re.M)


@pytest.mark.parametrize('tool', TOOLS)
@pytest.mark.parametrize('flag', ['-V', '--version'])
def test_version_to_stdout_exit_0(tool, flag):
    r = run(tool, [flag])
    assert (r.returncode, r.stdout, r.stderr) == (0, f'{tool} (mnv2 {VERSION})\n', '')


def assert_usage_error(tool, r, message):
    assert r.returncode == 2, r.stderr
    assert r.stdout == ''
    lines = r.stderr.splitlines()
    assert lines[0].startswith(f'{tool}: ') and message in lines[0], lines[0]
    assert any(l.startswith(f'usage: {tool} ') for l in lines[1:]), r.stderr


@pytest.mark.parametrize('tool', TOOLS)
def test_unknown_option_is_usage_error(tool):
    assert_usage_error(tool, run(tool, ['--no-such-option']), "unknown option '--no-such-option'")


@pytest.mark.parametrize('tool', [t for t in TOOLS if PER_TOOL[t]['valued']])
def test_bad_and_missing_values_are_usage_errors(tool):
    opt = PER_TOOL[tool]['valued']
    assert_usage_error(tool, run(tool, [opt, 'many']), opt)
    assert_usage_error(tool, run(tool, [f'{opt}=-1']), opt)
    assert_usage_error(tool, run(tool, [opt]), f'option {opt} needs a value')


@pytest.mark.parametrize('tool', TOOLS)
def test_runtime_error_is_one_line_exit_1(tool, tmp_path):
    r = run(tool, PER_TOOL[tool]['runtime'], cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f'{tool}: '), r.stderr
    assert 'usage:' not in r.stderr


@pytest.mark.parametrize('tool', TOOLS)
def test_dashdash_ends_options(tool, tmp_path):
    args, status = PER_TOOL[tool]['after_dashdash']
    r = run(tool, args, cwd=tmp_path)
    assert r.returncode == status, r.stderr
    assert not r.stdout.startswith('usage:')   # '--help' after '--' is not the option


def write_idx(path):
    """A 2-image 3x3 IDX unsigned-byte image file."""
    with open(path, 'wb') as f:
        f.write(bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 3]) + bytes(range(18)))


def output_commands(tool, tmp_path):
    """Commands of the tool that write to stdout: --version, and one real output where cheap."""
    cmds = [['--version']]
    if tool == 'mnv2-summary':
        cmds.append(['--preset', 'reduced'])
    elif tool == 'mnv2-bench':
        cmds.append([])
    elif tool == 'idx2pgm':
        write_idx(tmp_path / 'img.idx')
        cmds.append([str(tmp_path / 'img.idx'), '1', str(tmp_path / 'one.pgm')])
    return cmds


@pytest.mark.parametrize('tool', TOOLS)
def test_full_disk_is_exit_1(tool, tmp_path):
    for args in output_commands(tool, tmp_path):
        with open('/dev/full', 'w') as full:
            r = run(tool, args, stdout=full)
        assert r.returncode == 1, (args, r.stderr)
        assert r.stderr.startswith(f'{tool}: write error: '), r.stderr


@pytest.mark.parametrize('tool', TOOLS)
def test_closed_pipe_is_exit_1(tool, tmp_path):
    for args in output_commands(tool, tmp_path):
        rd, wr = os.pipe()
        os.close(rd)
        try:
            r = run(tool, args, stdout=wr)
        finally:
            os.close(wr)
        assert r.returncode == 1, (args, r.stderr)
        assert r.stderr.startswith(f'{tool}: write error: '), r.stderr


def options(tool):
    """{option: metavariable or ''} from the tool's --help."""
    out = {}
    for m in re.finditer(r'^  (-\w, )?(--[\w-]+)(?: ([A-Za-z]+))?(?:  |$)', help_text(tool), re.M):
        out[m.group(2)] = m.group(3) or ''
    return out


def test_same_option_same_meaning():
    seen = {}
    for tool in TOOLS:
        for opt, meta in options(tool).items():
            seen.setdefault(opt, {})[tool] = meta
    for opt, by_tool in seen.items():
        assert len(set(by_tool.values())) == 1, f'{opt} takes different values: {by_tool}'
    assert set(seen.get('--model', {}).values()) <= {'FILE'}
    assert set(seen.get('--preset', {}).values()) <= {'P'}
    for tool in TOOLS:
        threads = [l for l in help_text(tool).splitlines() if l.startswith('  --threads')]
        assert all('0 = all cores, the default' in l for l in threads), (tool, threads)


def test_train_model_option_points_to_preset():
    if 'mnv2-train' in TOOLS:
        assert_usage_error('mnv2-train', run('mnv2-train', ['--model', 'reduced']), '--preset')


def test_bench_without_arguments_lists_cases():
    r = run('mnv2-bench', [])
    assert r.returncode == 0 and r.stderr == ''
    cases = [l.split()[0] for l in help_text('mnv2-bench').splitlines() if re.match(r'^ {10,}[a-z0-9_]+$', l)]
    assert len(cases) >= 5
    for c in cases:
        assert re.search(rf'^  {c} ', r.stdout, re.M), c
    assert '--all' in r.stdout and '--case' in r.stdout
