"""``htmkit nab``: run detectors on the Numenta Anomaly Benchmark and score them.

Only typer is imported here; numpy/pandas/rich load inside the command bodies.
"""

from __future__ import annotations

from pathlib import Path

import typer

from .main import app, fail

nab_app = typer.Typer(
    help="Numenta Anomaly Benchmark: run detectors, score them with NAB's published rules.",
    no_args_is_help=True,
)
app.add_typer(nab_app, name="nab")

_NAB_DIR = typer.Option(
    None, "--nab-dir", help="NAB directory (data/, labels/); default ../shared/data/nab."
)
_RESULTS = typer.Option(
    Path("results/nab"), "--results", help="Results root: <results>/<detector>/<category>/..."
)
_SERIES = typer.Option(
    None,
    "--series",
    help="Only series matching these globs (comma-separated; full name, file or stem).",
)
_WORKERS = typer.Option(1, "--workers", "-j", min=1, help="Series run in parallel processes.")
_SEED = typer.Option(42, "--seed", help="Seed handed to every series' detector.")
_DIGITS = typer.Option(
    None,
    "--digits",
    min=1,
    help="Round anomaly scores to N significant digits before scoring "
    "(12 reproduces NAB's published numbers).",
)
_SCORE_JSON = typer.Option(
    None, "--json", help="Write the report here (default <results>/<detector>/scores.json)."
)
_BENCH_JSON = typer.Option(
    None, "--json", help="Write the comparison here (default <results>/bench.json)."
)


def _handle(exc: Exception) -> None:
    from ..errors import HTMKitError

    if isinstance(exc, HTMKitError):
        fail(str(exc))
    raise exc


@nab_app.command("list")
def list_cmd(nab_dir: Path | None = _NAB_DIR) -> None:
    """List the registered detectors and the corpus' series."""
    try:
        from ..nab.corpus import list_series, load_windows, resolve_nab_dir
        from ..nab.detectors import available_detectors

        typer.echo("detectors: " + ", ".join(available_detectors()))
        root = resolve_nab_dir(nab_dir)
        windows = load_windows(root)
        names = list_series(root)
        typer.echo(f"{root}: {len(names)} series, {sum(map(len, windows.values()))} windows")
        for n in names:
            typer.echo(f"  {n}  ({len(windows.get(n, []))} windows)")
    except Exception as exc:  # noqa: BLE001
        _handle(exc)


@nab_app.command("run")
def run_cmd(
    detector: str = typer.Option(..., "--detector", "-d", help="Registered detector name."),
    nab_dir: Path | None = _NAB_DIR,
    results: Path = _RESULTS,
    workers: int = _WORKERS,
    seed: int = _SEED,
    series: str | None = _SERIES,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    config: Path | None = typer.Option(
        None, "--config",
        help="YAML detector configuration handed to every series' detector (htmkit "
        "detectors: the model config, merged over the NAB defaults).",
    ),
    name: str | None = typer.Option(
        None, "--name",
        help="Write (and later score) the results under this name; default the detector's "
        "name, or DETECTOR-<config file stem> with --config.",
    ),
) -> None:
    """Run DETECTOR on every labelled series; write NAB-layout result CSVs."""
    try:
        from ..nab.runner import run

        cfg = None
        if config is not None:
            from ..model import read_config_file

            cfg = read_config_file(config)
            name = name or f"{detector}-{config.stem}"
        s = run(
            detector, nab_dir, results, workers=workers, seed=seed, series=series,
            progress=not quiet, config=cfg, label=name,
        )  # fmt: skip
        label = s.detector
        typer.echo(
            f"{label}: {len(s.series)} series, {s.rows:,} rows in {s.seconds:.1f}s "
            f"({s.records_per_second:,.0f} records per CPU-second) -> {Path(results) / label}"
        )
    except Exception as exc:  # noqa: BLE001
        _handle(exc)


@nab_app.command("score")
def score_cmd(
    detector: str = typer.Option(..., "--detector", "-d", help="Detector whose results to score."),
    results: Path = _RESULTS,
    nab_dir: Path | None = _NAB_DIR,
    json_path: Path | None = _SCORE_JSON,
    series: str | None = _SERIES,
    digits: int | None = _DIGITS,
) -> None:
    """Score DETECTOR's results: per-profile and per-category NAB scores."""
    try:
        from ..nab.scorer import render_report, score
        from ..serialization import write_json_atomic

        rep = score(detector, results, nab_dir, series=series, digits=digits)
        render_report(rep)
        out = json_path or Path(results) / detector / "scores.json"
        write_json_atomic(rep.to_dict(), out)
        typer.echo(f"report written to {out}")
    except Exception as exc:  # noqa: BLE001
        _handle(exc)


@nab_app.command("bench")
def bench_cmd(
    detectors: str = typer.Option(
        "null,random,windowed_gaussian",
        "--detectors",
        help="Comma-separated detector names: null, random, windowed_gaussian, htmkit (the "
        "AnomalyDetector), htmkit-ensemble, river-hst, river-pad, river-gaussian (River's "
        "detectors, with htmkit[river]), or any registered one.",
    ),
    nab_dir: Path | None = _NAB_DIR,
    results: Path = _RESULTS,
    workers: int = _WORKERS,
    seed: int = _SEED,
    series: str | None = _SERIES,
    digits: int | None = _DIGITS,
    reuse: bool = typer.Option(
        False, "--reuse", help="Score existing result files instead of re-running detectors."
    ),
    json_path: Path | None = _BENCH_JSON,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Run and score several detectors; one table with the published reference rows."""
    try:
        from ..nab.bench import bench, bench_to_dict, render_bench
        from ..serialization import write_json_atomic

        names = [d.strip() for d in detectors.split(",") if d.strip()]
        if not names:
            fail("--detectors is empty")
        rows = bench(
            names, nab_dir, results, workers=workers, seed=seed, series=series,
            digits=digits, reuse=reuse, progress=not quiet,
        )  # fmt: skip
        render_bench(rows)
        out = json_path or Path(results) / "bench.json"
        write_json_atomic(bench_to_dict(rows), out)
        typer.echo(f"comparison written to {out}")
    except typer.Exit:
        raise
    except Exception as exc:  # noqa: BLE001
        _handle(exc)
