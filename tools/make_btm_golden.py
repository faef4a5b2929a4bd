"""Write tests/data/btm_golden.json: the golden trace of the backtracking TM, produced by the
pure-Python reference of NuPIC's algorithm (tests/reference/nupic_backtracking_tm.py) on the
fixed stream of tests/reference/btm_golden.py.

    python tools/make_btm_golden.py          # (re)write the file
    python tools/make_btm_golden.py --check  # exit 1 if the file differs from a fresh run
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from reference.btm_golden import (  # noqa: E402
    PARAMS,
    digest,
    make_stream,
    run_reference,
    segments_reference,
)

OUT = ROOT / "tests" / "data" / "btm_golden.json"


def render() -> str:
    steps = make_stream()
    trace, ref = run_reference(steps, PARAMS)
    lines = ["{",
             '  "about": "Golden trace of the backtracking TM: the pure-Python reference of '
             'NuPIC\'s algorithm (tests/reference/nupic_backtracking_tm.py) on the stream of '
             'tests/reference/btm_golden.py; written by tools/make_btm_golden.py.",',
             f'  "params": {json.dumps(PARAMS, sort_keys=True)},',
             f'  "events": {json.dumps(ref.events, sort_keys=True)},',
             f'  "final_segments_digest": "{digest(segments_reference(ref))}",',
             '  "steps": [']
    rows = []
    for step, out in zip(steps, trace, strict=True):
        rows.append("    " + json.dumps({"input": step, "output": out}, separators=(",", ":")))
    lines.append(",\n".join(rows))
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare instead of writing")
    args = ap.parse_args()
    text = render()
    if args.check:
        if OUT.read_text() != text:
            print(f"{OUT} differs from a fresh run of the reference")
            return 1
        print(f"{OUT} is up to date")
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
