"""Run and score several detectors, and compare them with NAB's published scoreboard."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import corpus as _corpus
from .runner import result_path, run
from .scorer import PROFILE_LABELS, PROFILES, ScoreReport, score

#: Published NAB scoreboard rows (standard, reward_low_FP_rate, reward_low_FN_rate). These are
#: quoted, not measured here. Numenta HTM and windowedGaussian: NAB's results/final_results.json
#: (NAB v1.0 scoring); ARTime: NAB scoreboard.
PUBLISHED: dict[str, tuple[float, float, float]] = {
    "Numenta HTM": (70.1, 63.1, 74.3),
    "ARTime": (74.9, 65.1, 80.4),
    "windowedGaussian": (39.6, 20.9, 47.4),
}


@dataclass
class BenchRow:
    """One measured detector: its score report and how long running it took."""

    detector: str
    report: ScoreReport
    run_seconds: float | None
    reused: bool
    #: rows per CPU-second of detector time (:attr:`RunSummary.records_per_second`)
    records_per_second: float | None = None


def _results_complete(detector: str, results_dir: Path, names: Sequence[str]) -> bool:
    return all(result_path(results_dir, detector, n).is_file() for n in names)


def bench(
    detectors: Sequence[str],
    nab_dir: str | os.PathLike[str] | None = None,
    results_dir: str | os.PathLike[str] = "results/nab",
    *,
    workers: int = 1,
    seed: int = 42,
    series: str | Sequence[str] | None = None,
    digits: int | None = None,
    reuse: bool = False,
    progress: bool = True,
) -> list[BenchRow]:
    """Run (unless ``reuse`` and all result files exist) and score each detector in turn."""
    root = _corpus.resolve_nab_dir(nab_dir)
    names = _corpus.select_series(sorted(_corpus.load_windows(root)), series)
    rows: list[BenchRow] = []
    for det in detectors:
        secs: float | None = None
        rate: float | None = None
        reused = reuse and _results_complete(det, Path(results_dir), names)
        if not reused:
            t0 = time.perf_counter()
            summary = run(det, root, results_dir, workers=workers, seed=seed, series=series,
                          progress=progress)  # fmt: skip
            secs = time.perf_counter() - t0
            rate = summary.records_per_second
        rep = score(det, results_dir, root, series=series, digits=digits)
        rows.append(BenchRow(det, rep, secs, reused, rate))
    return rows


def bench_to_dict(rows: Sequence[BenchRow]) -> dict[str, Any]:
    """JSON-ready comparison: measured reports plus the published reference rows."""
    return {
        "profiles": list(PROFILES),
        "measured": {
            r.detector: {
                "run_seconds": r.run_seconds,
                "reused_results": r.reused,
                "records_per_second": r.records_per_second,
                "scores": {p: v.score for p, v in r.report.profiles.items()},
                "report": r.report.to_dict(),
            }
            for r in rows
        },
        "published": {
            k: dict(zip(PROFILES, v, strict=True)) | {"note": "published, not measured"}
            for k, v in PUBLISHED.items()
        },
    }


def render_bench(rows: Sequence[BenchRow], console: Any = None) -> None:
    """One table: measured detectors, then the published rows (marked as such)."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    profiles = list(PROFILES)
    first = rows[0].report if rows else None
    sub = (
        f"{first.n_series} series, {first.n_rows:,} rows, {first.n_windows} windows"
        + (f", scores rounded to {first.digits} digits" if first.digits else "")
        if first
        else ""
    )
    t = Table(title=f"NAB benchmark ({sub})")
    t.add_column("detector")
    t.add_column("source")
    for p in profiles:
        t.add_column(PROFILE_LABELS.get(p, p), justify="right")
    t.add_column("run s", justify="right")
    t.add_column("records/CPU-s", justify="right")
    for r in rows:
        vals = [r.report.profiles[p].score for p in profiles]
        t.add_row(
            r.detector,
            "measured",
            *["—" if v is None else f"{v:.1f}" for v in vals],
            "reused" if r.reused else f"{r.run_seconds:.1f}",
            "" if r.records_per_second is None else f"{r.records_per_second:,.0f}",
        )
    for name, published in PUBLISHED.items():
        t.add_row(
            f"[dim]{name}[/dim]",
            "[dim]published, not measured[/dim]",
            *[f"[dim]{v:.1f}[/dim]" for v in published],
            "",
            "",
        )
    console.print(t)
