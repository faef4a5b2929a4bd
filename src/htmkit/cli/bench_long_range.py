"""``htmkit bench long-range``: dependencies across a variable-length middle (single TM,
backtracking TM, the two-level temporal hierarchy, online LSTMs, first-order Markov).

Only typer is imported here; numpy/numba/torch/matplotlib load inside the command body.
"""

from __future__ import annotations

from pathlib import Path

import typer

from .bench_sequences import _clean, _models, _write_json, parse_seeds
from .main import bench_app, fail


@bench_app.command("long-range")
def bench_long_range(
    seeds: str = typer.Option("1", "--seeds", help="Number of seeds (0..N-1) or a list '0,3,7'."),
    models: str | None = typer.Option(
        None, "--models",
        help="Comma-separated: tm, tm-cells, backtracking, hierarchy, hierarchy-cells, "
             "hierarchy-top, pooled-top, markov, "
             "lstm-16, lstm-32, lstm-64 (default all; unavailable ones are skipped)."),
    task: str = typer.Option("reber,deps,curve", "--task",
                             help="Comma-separated tasks: reber, deps, curve (the gap curve)."),
    quick: bool = typer.Option(False, "--quick", help="3000 elements per task, two gaps."),
    json_path: Path | None = typer.Option(None, "--json", help="Write the JSON report here."),
    plots: Path | None = typer.Option(None, "--plots", help="Write PNG plots to this folder."),
    length: int | None = typer.Option(None, "--length", min=100,
                                      help="Elements per task (default 20000)."),
    threads: int = typer.Option(1, "--threads", min=1, help="torch CPU threads."),
) -> None:
    """Long-range dependencies across a variable-length middle (embedded Reber, our generator)."""
    from ..bench.long_range import ALL_MODELS, LongRangeConfig, render_table, run_benchmark
    from ..bench.long_range import write_plots as lr_plots
    from ..errors import HTMKitError

    try:
        seed_list = parse_seeds(seeds)
        names = _models(models, ALL_MODELS)
    except ValueError as exc:
        fail(str(exc))
    tasks = tuple(t.strip() for t in task.split(",") if t.strip())
    cfg = LongRangeConfig.quick_config() if quick else LongRangeConfig()
    cfg.tasks = tasks
    cfg.threads = threads
    if length is not None:
        cfg.length = length
        cfg.curve_length = length
    try:
        result = run_benchmark(seed_list, names, cfg, log=lambda s: typer.echo(s, err=True))
    except HTMKitError as exc:
        fail(str(exc))
    typer.echo(render_table(result))
    if json_path is not None:
        _write_json(json_path, _clean(result))
        typer.echo(f"JSON written to {json_path}")
    if plots is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            typer.echo("matplotlib not installed: no plots (pip install 'htmkit[viz]')")
            return
        for p in lr_plots(result, plots):
            typer.echo(f"plot written to {p}")
