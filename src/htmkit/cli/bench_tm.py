"""``htmkit bench tm``: Temporal Memory speed, segment/synapse counts and memory on a streaming
workload (sine -> Spatial Pooler -> TM) and a hard, always-bursting workload.

Only typer is imported here; numpy/numba/rich load inside the command body.
"""

from __future__ import annotations

from pathlib import Path

import typer

from .main import bench_app, fail


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
    from ..errors import HTMKitError
    from ..serialization import write_json_atomic

    try:
        report = run_benchmark(repeats=repeats, quick=quick)
    except HTMKitError as exc:
        fail(str(exc))
        return
    print_report(report)
    if json_path is not None:
        write_json_atomic(report, json_path)
        typer.echo(f"wrote {json_path}")
