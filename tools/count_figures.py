"""Count benchmark figures left in the docstrings and comments of ``src/``.

A figure is a decimal number (``0.985``, ``72.1``) or a percentage (``98%``) inside a docstring
or a comment. Code is not counted, and neither are a docstring's doctest examples (``>>>`` and
``...`` lines and the output printed under them), which are code too. Usage:
``python tools/count_figures.py [--max N] [--list]``; with ``--max N`` it exits 1 when more than
``N`` figures remain.
"""

from __future__ import annotations

import argparse
import ast
import io
import re
import sys
import tokenize
from pathlib import Path

FIGURE = re.compile(r"(?<![\w.])(\d+\.\d+|\d+(\.\d+)?\s?%)(?![\w.])")


def strip_doctests(doc: str) -> str:
    """``doc`` with its doctest examples blanked (lines kept, so line numbers stay)."""
    out: list[str] = []
    in_example = False
    for line in doc.split("\n"):
        stripped = line.strip()
        if stripped.startswith((">>>", "... ")) or stripped == "...":
            in_example = True
            out.append("")
        elif in_example and stripped:
            out.append("")  # the example's expected output
        else:
            in_example = False
            out.append(line)
    return "\n".join(out)


def texts(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every docstring and comment in one file."""
    source = path.read_text(encoding="utf-8")
    out: list[tuple[int, str]] = []
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                out.append((body[0].lineno, strip_doctests(body[0].value.value)))
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.COMMENT:
            out.append((tok.start[0], tok.string))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("root", nargs="?", default="src")
    ap.add_argument("--max", type=int, default=None, help="fail when more figures than this")
    ap.add_argument("--list", action="store_true", help="print every figure with its place")
    args = ap.parse_args(argv)
    total = 0
    for path in sorted(Path(args.root).rglob("*.py")):
        for line, text in texts(path):
            for m in FIGURE.finditer(text):
                total += 1
                if args.list:
                    print(f"{path}:{line}: {m.group(0)}")
    print(f"{total} benchmark figures in docstrings and comments under {args.root}/")
    if args.max is not None and total > args.max:
        print(f"more than {args.max}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
