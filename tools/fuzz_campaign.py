"""Merge the ``--json`` outputs of ``tests/fuzz_files.py`` batches into one campaign record.

A long campaign runs the harness in batches (one seed each), so that it can be stopped at any
time and every finished batch counts::

    seed=100; while [ ! -e STOP ]; do
        python tests/fuzz_files.py --cases 25 --seed $seed --json batch-$seed.json
        seed=$((seed+1)); done
    python tools/fuzz_campaign.py batch-*.json --json benchmarks/results/fuzz-files.json

The record holds the cases per sample and per class, the mutation kinds, the outcomes (``ok``,
``FormatError`` at load, an ``HTMKitError`` type while running, ``FAIL:...``), the failures,
the seeds and the time.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any


def merge(paths: list[Path]) -> dict[str, Any]:
    samples: dict[str, dict[str, Any]] = {}
    classes: dict[str, dict[str, Any]] = {}
    kinds_all: Counter[str] = Counter()
    outcomes_all: Counter[str] = Counter()
    failures: list[dict[str, Any]] = []
    seeds, seconds, cases = [], 0.0, 0
    kinds_run: list[str] = []
    for path in sorted(paths):
        rec = json.loads(path.read_text())
        seeds.append(rec["seed"])
        seconds += rec["seconds"]
        cases += rec["cases"]
        kinds_run = rec["kinds"]
        failures += rec["failures"]
        for name, s in rec["samples"].items():
            for target, key in ((samples, name), (classes, s["class"])):
                entry = target.setdefault(key, {"cases": 0, "kinds": Counter(),
                                                "outcomes": Counter()})
                entry["cases"] += s["cases"]
                entry["kinds"].update(s["kinds"])
                entry["outcomes"].update(s["outcomes"])
                if target is classes:
                    entry.setdefault("samples", set()).add(name)
            kinds_all.update(s["kinds"])
            outcomes_all.update(s["outcomes"])

    def plain(d: dict[str, dict[str, Any]]) -> dict[str, Any]:
        return {k: {kk: (dict(sorted(vv.items())) if isinstance(vv, Counter) else
                         sorted(vv) if isinstance(vv, set) else vv) for kk, vv in v.items()}
                for k, v in sorted(d.items())}

    return {"batches": len(paths), "seeds": sorted(seeds), "cases": cases,
            "n_failures": len(failures), "seconds": round(seconds, 1),
            "cases_per_second": round(cases / seconds, 2) if seconds else None,
            "kinds": kinds_run, "cases_by_kind": dict(sorted(kinds_all.items())),
            "outcomes": dict(sorted(outcomes_all.items())),
            "classes": plain(classes), "samples": plain(samples), "failures": failures}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("batches", nargs="+", type=Path)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--command", default="", help="the command that ran the batches")
    args = ap.parse_args(argv)
    rec = merge(args.batches)
    if args.command:
        rec = {"command": args.command, **rec}
    print(f"{rec['cases']} cases in {rec['batches']} batches, {rec['n_failures']} failures, "
          f"{rec['seconds']} s ({rec['cases_per_second']} cases/s)")
    for cls, c in rec["classes"].items():
        print(f"  {cls:28s} {c['cases']:6d}  {c['outcomes']}")
    if args.json:
        args.json.write_text(json.dumps(rec, indent=1) + "\n")
    return 1 if rec["n_failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
