"""``htmkit bench memory``: memory per AnomalyDetector with many models in one process, and
one detector on an endless stream (see :mod:`htmkit.bench.memory`).

Only typer is imported here; numpy/pandas/numba load inside the command body.
"""

from __future__ import annotations

from pathlib import Path

import typer

from .main import bench_app, fail, report_or_fail


@bench_app.command("memory")
def bench_memory(
    models: int = typer.Option(20, "--models", "-k", min=1, help="Detectors run interleaved."),
    records: str = typer.Option(
        "1000,10000", "--records", help="Records per detector (comma-separated: one run each)."
    ),
    long: int = typer.Option(
        0, "--long", min=0, help="Also run one detector on NAB series concatenated for N records."
    ),
    sample_every: int = typer.Option(5000, "--sample-every", min=1, help="Long run sampling."),
    max_cpu_s: float | None = typer.Option(
        None, "--max-cpu-s", help="Stop the long run after this many CPU seconds."
    ),
    nab_dir: Path | None = typer.Option(None, "--nab-dir", help="NAB directory (data/)."),
    seed: int = typer.Option(42, "--seed"),
    json_path: Path | None = typer.Option(None, "--json", help="Write the JSON report here."),
    png: Path | None = typer.Option(None, "--png", help="Plot the long run here."),
) -> None:
    """Measure RSS per detector, saved size, a breakdown by component, and speed."""
    from ..bench.memory import plot_long, print_report, run_long, run_many
    try:
        counts = [int(x) for x in records.split(",") if x.strip()]
    except ValueError:
        fail(f"--records: expected comma-separated integers, got {records!r}")
        return

    def make() -> dict:
        report: dict = {"many": [run_many(models, n, nab_dir=nab_dir, seed=seed)
                                 for n in counts]}
        if long:
            report["long"] = run_long(long, sample_every, nab_dir=nab_dir, seed=seed,
                                      max_cpu_s=max_cpu_s)
        return report

    report = report_or_fail(make, print_report, json_path)
    if png is not None and "long" in report:
        plot_long({"detector": report["long"]}, png)
        typer.echo(f"wrote {png}")
