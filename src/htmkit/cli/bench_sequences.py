"""``htmkit bench sequences`` and ``htmkit bench taxi``: sequence learning against LSTMs,
reproducing Cui, Ahmad & Hawkins (2016).

Only typer is imported here; numpy/numba/torch/matplotlib load inside the command bodies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from .main import bench_app, fail


def parse_seeds(text: str) -> list[int]:
    """``"3"`` -> ``[0, 1, 2]``; ``"4,7"`` or ``"4 7"`` -> ``[4, 7]`` (a list of seeds)."""
    parts = [p for p in text.replace(",", " ").split() if p]
    try:
        nums = [int(p) for p in parts]
    except ValueError:
        raise ValueError(f"--seeds must be a count or a list of integers, got {text!r}") from None
    if not nums or any(n < 0 for n in nums):
        raise ValueError(f"--seeds must be a positive count or non-negative seeds, got {text!r}")
    if len(parts) == 1 and "," not in text:
        if nums[0] < 1:
            raise ValueError("--seeds count must be >= 1")
        return list(range(nums[0]))
    return nums


def _models(text: str | None, all_models: tuple[str, ...]) -> list[str]:
    if text is None:
        return list(all_models)
    names = [m.strip() for m in text.split(",") if m.strip()]
    bad = [m for m in names if m not in all_models]
    if bad:
        raise ValueError(f"unknown model(s) {', '.join(bad)}; choose from "
                         f"{', '.join(all_models)}")
    if not names:
        raise ValueError("--models is empty")
    return names


class _Bars:
    """A rich progress display handing out one bar per (model, seed) run."""

    def __init__(self, console) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TimeElapsedColumn(), console=console,
                                 transient=False)

    def __enter__(self) -> _Bars:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.progress.__exit__(*exc)

    def __call__(self, description: str, total: int):
        task = self.progress.add_task(description, total=total)
        return lambda n: self.progress.advance(task, n)


def _console():
    """A rich console; 120 columns when not writing to a terminal (tables stay unwrapped)."""
    from rich.console import Console

    console = Console()
    if not console.is_terminal:
        console = Console(width=max(console.width, 120))
    return console


def _write_json(path: Path, result: dict[str, Any]) -> None:
    from ..serialization import write_json_atomic

    write_json_atomic(result, path, indent=1, allow_nan=False, default=_jsonable)


def _jsonable(x: Any) -> Any:
    import numpy as np

    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating):
        return float(x) if np.isfinite(x) else None
    if isinstance(x, (tuple, set)):
        return list(x)
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")


def _clean(obj: Any) -> Any:
    """Replace NaN/inf floats by None (JSON has no NaN)."""
    import math

    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


@bench_app.command("sequences")
def bench_sequences(
    seeds: str = typer.Option("1", "--seeds", help="Number of seeds (0..N-1) or a list '0,3,7'."),
    models: str | None = typer.Option(
        None, "--models",
        help="Comma-separated: htm, markov, lstm-1000, lstm-3000, lstm-9000, lstm-online "
             "(default all; unavailable ones are skipped)."),
    quick: bool = typer.Option(False, "--quick",
                               help="3000 elements, switch at 1500, small LSTM budgets."),
    json_path: Path | None = typer.Option(None, "--json", help="Write the JSON report here."),
    plots: Path | None = typer.Option(None, "--plots", help="Write PNG plots to this folder."),
    sequence_set: str = typer.Option(
        "random", "--sequence-set",
        help="'random' (drawn from each seed) or 'paper' (the paper's fixed set)."),
    length: int | None = typer.Option(None, "--length", min=100,
                                      help="Stream length (default 20000)."),
    switch_at: int | None = typer.Option(None, "--switch-at", min=1,
                                         help="Element where endings swap (default 10000)."),
    threads: int = typer.Option(1, "--threads", min=1, help="torch CPU threads."),
) -> None:
    """High-order sequence task of Cui, Ahmad & Hawkins (2016): HTM vs LSTMs vs Markov."""
    from ..bench.sequences import ALL_MODELS, SequencesConfig, render_table, run_benchmark
    from ..bench.sequences import write_plots as seq_plots

    try:
        seed_list = parse_seeds(seeds)
        names = _models(models, ALL_MODELS)
    except ValueError as exc:
        fail(str(exc))
    if sequence_set not in ("random", "paper"):
        fail(f"--sequence-set must be 'random' or 'paper', got {sequence_set!r}")
    cfg = SequencesConfig.quick_config() if quick else SequencesConfig()
    cfg.sequence_set = sequence_set
    cfg.threads = threads
    if length is not None:
        cfg.length = length
    if switch_at is not None:
        cfg.switch_at = switch_at
    if cfg.switch_at >= cfg.length:
        fail(f"--switch-at ({cfg.switch_at}) must be below the length ({cfg.length})")
    console = _console()
    with _Bars(console) as bars:
        result = run_benchmark(seed_list, names, cfg, progress=bars,
                               log=lambda s: bars.progress.console.print(f"[dim]{s}[/]"))
    console.print(render_table(result))
    _finish(console, result, json_path, plots, seq_plots)


@bench_app.command("taxi")
def bench_taxi(
    seeds: str = typer.Option("1", "--seeds", help="Number of seeds (0..N-1) or a list '0,3,7'."),
    models: str | None = typer.Option(
        None, "--models",
        help="Comma-separated: htm, lstm-1000, lstm-3000, lstm-6000, shift (default all; "
             "unavailable ones are skipped)."),
    quick: bool = typer.Option(False, "--quick",
                               help="Rows 11000..14000 only, small LSTM budgets."),
    json_path: Path | None = typer.Option(None, "--json", help="Write the JSON report here."),
    plots: Path | None = typer.Option(None, "--plots", help="Write PNG plots to this folder."),
    data_dir: Path | None = typer.Option(
        None, "--data-dir",
        help="Folder with nyc_taxi.csv and nyc_taxi_perturb.csv (default "
             "../shared/data/sequences or $HTMKIT_SEQUENCES_DIR)."),
    perturbed: bool = typer.Option(True, "--perturbed/--no-perturbed",
                                   help="Also run the adaptation experiment (first seed)."),
    threads: int = typer.Option(1, "--threads", min=1, help="torch CPU threads."),
) -> None:
    """NYC taxi demand 2.5 h ahead: HTM vs weekly re-trained LSTMs vs persistence."""
    from ..bench.taxi import (
        ALL_TAXI_MODELS,
        TaxiConfig,
        render_taxi_table,
        run_taxi_benchmark,
        write_taxi_plots,
    )
    from ..errors import HTMKitError

    try:
        seed_list = parse_seeds(seeds)
        names = _models(models, ALL_TAXI_MODELS)
    except ValueError as exc:
        fail(str(exc))
    cfg = TaxiConfig.quick_config() if quick else TaxiConfig()
    cfg.perturbed = perturbed
    cfg.threads = threads
    console = _console()
    try:
        with _Bars(console) as bars:
            result = run_taxi_benchmark(data_dir, seed_list, names, cfg, progress=bars,
                                        log=lambda s: bars.progress.console.print(f"[dim]{s}[/]"))
    except HTMKitError as exc:
        fail(str(exc))
    console.print(render_taxi_table(result))
    _finish(console, result, json_path, plots, write_taxi_plots)


def _finish(console, result, json_path, plots, plotter) -> None:
    if json_path is not None:
        _write_json(json_path, _clean(result))
        console.print(f"JSON written to {json_path}")
    if plots is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            console.print("[yellow]matplotlib not installed: no plots (pip install "
                          "'htmkit[viz]')[/]")
            return
        for p in plotter(result, plots):
            console.print(f"plot written to {p}")
