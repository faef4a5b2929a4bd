"""``htmkit bench tm``: Temporal Memory speed, segment/synapse counts and memory on a streaming
workload (sine -> Spatial Pooler -> TM) and a hard, always-bursting workload.

Only typer is imported here; numpy/numba/rich load inside the command body.
"""

from __future__ import annotations

from pathlib import Path

import typer

from .main import bench_app, report_or_fail


@bench_app.command("tm")
def bench_tm(
    json_path: Path | None = typer.Option(None, "--json", help="Write the JSON report here."),
    repeats: int = typer.Option(5, "--repeats", min=1, help="Timed runs per workload."),
    quick: bool = typer.Option(
        False, "--quick", help="Short runs (500 stream / 1000 hard steps instead of 2000 / 5000)."
    ),
) -> None:
    """Time TemporalMemory.compute(learn=True); print a table, optionally write JSON."""
    from ..bench.tm import print_report, run_benchmark

    report_or_fail(lambda: run_benchmark(repeats=repeats, quick=quick), print_report, json_path)
