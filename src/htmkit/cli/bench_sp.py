"""``htmkit bench sp``: Spatial Pooler speed, construction time and memory on a streaming
workload (global inhibition) and an image workload (local inhibition).

Only typer is imported here; numpy/numba/rich load inside the command body.
"""

from __future__ import annotations

from pathlib import Path

import typer

from .main import bench_app, report_or_fail


@bench_app.command("sp")
def bench_sp(
    json_path: Path | None = typer.Option(None, "--json", help="Write the JSON report here."),
    repeats: int = typer.Option(5, "--repeats", min=1, help="Timed runs per workload."),
    steps: int | None = typer.Option(
        None, "--steps", min=1,
        help="Steps per run for both workloads (default 2000 stream / 1000 image).",
    ),
    quick: bool = typer.Option(
        False, "--quick", help="Short runs (500 stream / 200 image steps) unless --steps is given."
    ),
) -> None:
    """Time SP construction and compute(learn=True); print a table, optionally write JSON."""
    from ..bench.sp import print_report, run_benchmark

    report_or_fail(lambda: run_benchmark(repeats=repeats, steps=steps, quick=quick),
                   print_report, json_path)
