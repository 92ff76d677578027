"""Parse the #define constants of include/mnv2.h and include/mnv2_data.h (for test_constants.py)."""
import ast
import re

_DEFINE = re.compile(r"^\s*#\s*define\s+(MNV2_[A-Z0-9_]+)\s+(.*?)\s*(?:/\*.*)?$")
_SKIP = {"MNV2_H", "MNV2_DATA_H", "MNV2_API"}


def _eval(expr, known):
    expr = re.sub(r"\b(\d+)[uUlL]+\b", r"\1", expr)
    expr = re.sub(r"\((?:u?int(?:8|16|32|64)_t|size_t)\)", "", expr)  # C casts of fixed-width types
    expr = re.sub(r"\bMNV2_[A-Z0-9_]+\b", lambda m: repr(known[m.group(0)]), expr)
    tree = ast.parse(expr, mode="eval")
    allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.Add, ast.Sub, ast.Mult,
               ast.USub, ast.LShift, ast.BitOr)
    for node in ast.walk(tree):
        if not isinstance(node, allowed):
            raise ValueError(f"unsupported constant expression: {expr}")
    return eval(compile(tree, "<header>", "eval"))


def parse(paths):
    """{name: value} for every object-like MNV2_ #define with a value, in header order."""
    out = {}
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                m = _DEFINE.match(line)
                if not m or m.group(1) in _SKIP or "(" in m.group(1):
                    continue
                name, expr = m.groups()
                if not expr or expr.startswith("__"):
                    continue  # MNV2_API variants
                out[name] = _eval(expr, out)
    return out


HEADER = '''# SPDX-License-Identifier: BSD-2-Clause
"""The constants of include/mnv2.h and include/mnv2_data.h, without the MNV2_ prefix.

Written from the headers; python/tests/test_constants.py parses the headers and fails on any constant that
is missing here, differs, or is here but not in the headers. Regenerate after a header change with
    python3 python/tests/header_constants.py include/mnv2.h include/mnv2_data.h > python/mnv2/constants.py
"""
'''


def render(values):
    """The text of python/mnv2/constants.py for {name: value}."""
    return HEADER + "\n" + "".join(f"{k[len('MNV2_'):]} = {v!r}\n" for k, v in values.items())


if __name__ == "__main__":
    import sys
    sys.stdout.write(render(parse(sys.argv[1:])))
