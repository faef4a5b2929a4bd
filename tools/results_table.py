"""Generate the README's results table from ``benchmarks/results/*.json``.

One markdown table: every benchmark output found there (the JSON that ``--json`` writes), one
row per model or workload, and the published figures of ``benchmarks/results/published.json``,
each row naming where its figures came from (the JSON file's name; published rows their
citation). Files of a kind the script does not know are listed under the table, not dropped
silently.

Usage::

    python tools/results_table.py            # print the block
    python tools/results_table.py --write    # rewrite the block in README.md
    python tools/results_table.py --check    # exit 1 when README.md's block is stale

The block lies between ``<!-- results:start -->`` and ``<!-- results:end -->`` in README.md.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
README = ROOT / "README.md"
START = "<!-- results:start -->"
END = "<!-- results:end -->"
PUBLISHED = "published.json"

Row = tuple[str, str, str, str]  # benchmark, model, figures, source


def _num(x: Any, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    if isinstance(x, int) and not isinstance(x, bool):
        return str(x)
    return f"{float(x):.{digits}f}"


def _mean(summary: dict[str, Any], key: str) -> Any:
    entry = summary.get(key) or {}
    return entry.get("mean")


def _seeds(d: dict[str, Any]) -> str:
    seeds = d.get("seeds") or []
    return f"seed {seeds[0]}" if len(seeds) == 1 else f"{len(seeds)} seeds"


def _nab(name: str, d: dict[str, Any]) -> list[Row]:
    p = d["profiles"]
    figs = "/".join(_num(p[k]["score"], 1) for k in
                      ("standard", "reward_low_FP_rate", "reward_low_FN_rate"))
    what = f"NAB, {d.get('n_series', '?')} series"
    return [(what, str(d["detector"]), f"standard/low FP/low FN {figs}", name)]


def _sequences(name: str, d: dict[str, Any]) -> list[Row]:
    cfg = d.get("config", {})
    what = (f"sequences{' --quick' if cfg.get('quick') else ''}, "
            f"{cfg.get('length', '?')} elements, {_seeds(d)}")
    rows = []
    for model, m in d["models"].items():
        if not m.get("available", True):
            rows.append((what, model, "not run: " + str(m.get("reason")), name))
            continue
        s = m.get("summary", {})
        rows.append((what, model,
                     f"accuracy before/after switch {_num(_mean(s, 'final_before'), 2)}/"
                     f"{_num(_mean(s, 'final_end'), 2)}, learn/relearn "
                     f"{_num(_mean(s, 'learn_time'), 0)}/{_num(_mean(s, 'relearn_time'), 0)}",
                     name))
    return rows


def _taxi(name: str, d: dict[str, Any]) -> list[Row]:
    cfg = d.get("config", {})
    what = f"taxi{' --quick' if cfg.get('quick') else ''}, {d.get('rows', '?')} rows, {_seeds(d)}"
    rows = []
    for model, m in d["models"].items():
        if not m.get("available", True):
            rows.append((what, model, "not run: " + str(m.get("reason")), name))
            continue
        s = m.get("summary", {})
        figs = f"NRMSE {_num(_mean(s, 'nrmse'))}, MAPE {_num(_mean(s, 'mape'))}"
        if _mean(s, "nll") is not None:
            figs += f", NLL {_num(_mean(s, 'nll'), 2)}"
        rows.append((what, model, figs, name))
    return rows


def _tm(name: str, d: dict[str, Any]) -> list[Row]:
    rows = []
    for r in d["results"]:
        figs = f"{_num(r.get('ms_per_step_median'))} ms/step"
        extra = []
        if r.get("target_ms_per_step") is not None:
            extra.append(f"target {_num(r['target_ms_per_step'], 2)}")
        if r.get("htm_core_ms_per_step") is not None:
            extra.append(f"htm.core {_num(r['htm_core_ms_per_step'])}, reference")
        if extra:
            figs += " (" + "; ".join(extra) + ")"
        rows.append((f"{d.get('benchmark', 'tm')} speed", str(r.get("workload", r.get("key"))),
                     figs, name))
    return rows


_VISION_SHOWN = ("clean", "shift", "salt_pepper", "occlusion", "few_shot")


def _vision(name: str, d: dict[str, Any]) -> list[Row]:
    what = f"vision {d.get('dataset', '?')}, {d.get('n_train', '?')}/{d.get('n_test', '?')} images"
    rows = []
    for model, m in d["models"].items():
        acc = m.get("accuracy") or {}
        if not acc:
            rows.append((what, model, "not run: " + str(m.get("reason", "no accuracy")), name))
            continue
        shown = []
        for prefix in _VISION_SHOWN:  # the hardest setting of each protocol family
            keys = [k for k in acc if k.startswith(prefix)]
            if keys:
                key = keys[0] if prefix == "few_shot" else keys[-1]
                shown.append(f"{key} {_num(acc[key])}")
        rows.append((what, model, ", ".join(shown), name))
    return rows


def _serve(name: str, d: dict[str, Any]) -> list[Row]:
    c = d["config"]
    lat = d.get("latency_ms") or {}
    per = d.get("rss_per_stream_mb") or {}
    figs = (f"{_num(d.get('records_per_s'), 1)} records/s "
            f"({_num(d.get('records_per_cpu_s'), 1)} per server CPU-second), "
            f"p50 {_num(lat.get('p50'), 0)} ms, p99 {_num(lat.get('p99'), 0)} ms a request, "
            f"{_num(per.get('after_load'), 1)} MB RSS per stream")
    return [("service load (htmkit bench serve)",
             f"{c['streams']} streams x {c['records']} records, {c['batch']} a request",
             figs, name)]


def _nab_river(name: str, d: dict[str, Any]) -> list[Row]:
    """River's detectors on NAB, one row (docs/experiments/river-baselines.md)."""
    rates = d.get("records_per_cpu_second", {})
    dets = [k for k in d["full_corpus"] if k != "htmkit"]  # htmkit has its own row
    figs = "/".join(_num(d["full_corpus"][k]["scores"]["standard"], 1) for k in dets)
    speed = "/".join(_num(rates.get(k), 0) for k in dets)
    return [(f"NAB, {d.get('n_series', '?')} series", "River " + "/".join(dets),
             f"standard {figs}; records/CPU-s {speed}", name)]


def _long_range(name: str, d: dict[str, Any]) -> list[Row]:
    models = ("tm", "backtracking", "hierarchy-top", "markov", "lstm-64")
    figs = []
    for task, per_model in d["tasks"].items():
        acc = [_num(_mean_runs(per_model[m]["runs"], "final_dependent"), 2)
               for m in models if m in per_model]
        figs.append(f"{task} " + "/".join(acc))
    shown = "/".join(m for m in models if m in next(iter(d["tasks"].values())))
    return [(f"long-range, {d['config']['length']} elements", shown,
             "dependent-symbol accuracy " + "; ".join(figs), name)]


def _mean_runs(runs: list[dict[str, Any]], key: str) -> float:
    return float(sum(r[key] for r in runs) / len(runs))


#: Study outputs read by their pages in docs/experiments/, not by the README's table.
STUDY_ONLY = ("big-csv", "detector-memory", "fuzz-files", "load-memory", "long-range-pooled",
              "nab-two-level", "detector_memory_", "long-range-apical",
              "river_adapter_cost", "tm-store", "vision-hierarchy-")

KINDS: dict[str, Callable[[str, dict[str, Any]], list[Row]]] = {
    "long-range": _long_range,
    "nab-river": _nab_river,
    "serve": _serve,
    "sequences": _sequences,
    "taxi": _taxi,
    "tm": _tm,
    "vision": _vision,
}


def measured_rows(results: Path = RESULTS) -> tuple[list[Row], list[str]]:
    """Rows of every known benchmark JSON, and the names of files not tabulated."""
    rows: list[Row] = []
    skipped: list[str] = []
    for path in sorted(results.glob("*.json")):
        if path.name == PUBLISHED or path.name.startswith(STUDY_ONLY):
            continue
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            skipped.append(f"{path.name} (not readable JSON)")
            continue
        kind = d.get("benchmark") if isinstance(d, dict) else None
        try:
            if kind in KINDS:
                rows.extend(KINDS[kind](path.name, d))
            elif isinstance(d, dict) and "detector" in d and "profiles" in d:
                rows.extend(_nab(path.name, d))
            else:
                skipped.append(f"{path.name} (format not known to this script)")
        except (KeyError, TypeError, ValueError):
            skipped.append(f"{path.name} (fields missing)")
    return rows, skipped


def published_rows(results: Path = RESULTS) -> list[Row]:
    """Rows of ``published.json``: figures quoted from their sources, marked published; the
    entries of one benchmark quoted from one source share a row."""
    path = results / PUBLISHED
    if not path.is_file():
        return []
    d = json.loads(path.read_text(encoding="utf-8"))
    groups: dict[tuple[str, str], list[str]] = {}
    for e in d["entries"]:
        figs = ", ".join(f"{k} {v:g}" for k, v in e["metrics"].items())
        key = (f"{e['benchmark']}, published", f"**published** {e.get('cite') or e['source']}")
        groups.setdefault(key, []).append(f"{e['model']}: {figs}")
    return [(bench, "(named in figures)", "; ".join(figs), source)
            for (bench, source), figs in groups.items()]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(results: Path = RESULTS) -> str:
    """The README block (without the markers)."""
    measured, skipped = measured_rows(results)
    lines = [
        "| benchmark | model | figures | source |",
        "|---|---|---|---|",
    ]
    previous = None
    for row in measured + published_rows(results):
        label = "" if row[0] == previous else row[0]  # name each benchmark once
        previous = row[0]
        lines.append("| " + " | ".join(_cell(c) for c in (label, *row[1:])) + " |")
    lines.append("")
    lines.append("Measured rows name the file in `benchmarks/results/` they were read from "
                 "(median ms/step; accuracy, NRMSE and MAPE as fractions). **Published** rows "
                 "are quoted, not measured: `benchmarks/results/published.json` gives each "
                 "one's exact source. Quick runs are smoke tests, not comparable with the "
                 "published full runs; the full runs are in `docs/experiments/`.")
    if skipped:
        lines.append("Not tabulated: " + ", ".join(skipped) + ".")
    return "\n".join(lines)


def splice(readme: str, block: str) -> str:
    """``readme`` with the text between the markers replaced by ``block``."""
    if readme.count(START) != 1 or readme.count(END) != 1:
        raise ValueError(f"README must hold {START} and {END} once each")
    head, rest = readme.split(START)
    _, tail = rest.split(END)
    return f"{head}{START}\n{block}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--write", action="store_true", help="rewrite the block in README.md")
    group.add_argument("--check", action="store_true",
                       help="exit 1 when README.md's block differs from the generated one")
    ap.add_argument("--readme", type=Path, default=README)
    ap.add_argument("--results", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    block = render(args.results)
    if not (args.write or args.check):
        print(block)
        return 0
    text = args.readme.read_text(encoding="utf-8")
    try:
        new = splice(text, block)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.check:
        if new != text:
            print(f"{args.readme.name}: the results table is stale; run "
                  "python tools/results_table.py --write", file=sys.stderr)
            return 1
        print(f"{args.readme.name}: the results table matches benchmarks/results/")
        return 0
    args.readme.write_text(new, encoding="utf-8")
    print(f"{args.readme.name}: results table written")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
