"""``htmkit run``: stream a CSV column (or the built-in example) through an HTMModel."""

from __future__ import annotations

from pathlib import Path

import typer

from .main import app, fail


def parse_steps(text: str) -> tuple[int, ...]:
    """"1,5" -> (1, 5); raises typer.BadParameter on bad input."""
    try:
        steps = tuple(sorted({int(s) for s in text.split(",") if s.strip()}))
    except ValueError:
        raise typer.BadParameter(f"steps must be comma-separated integers, got {text!r}") from None
    if not steps or min(steps) < 0:
        raise typer.BadParameter(f"steps must be non-negative integers, got {text!r}")
    return steps


@app.command("run")
def run_command(
    data: Path = typer.Argument(None, help="CSV file; omit to use the built-in example stream."),
    field: str = typer.Option(None, "--field", help="Numeric column to model and predict."),
    timestamp: str = typer.Option(
        "auto", "--timestamp", help="Timestamp column ('auto': a column named 'timestamp'; "
        "'none': ignore time)."),
    steps: str = typer.Option("1", "--steps", help="Prediction steps, e.g. 1,5."),
    out: Path = typer.Option(None, "--out", help="Write per-row results to this CSV."),
    plot: Path = typer.Option(None, "--plot", help="Write a PNG plot of value, prediction and "
                              "anomaly likelihood."),
    save: Path = typer.Option(None, "--save", help="Save the trained model to this file."),
    config: Path = typer.Option(None, "--config", help="Model configuration (YAML)."),
    strict: bool = typer.Option(False, "--strict", help="Stop at the first bad row instead of "
                                "skipping it."),
    seed: int = typer.Option(42, "--seed", help="Random seed."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Stream a CSV column through encoders -> SP -> TM -> predictor + anomaly likelihood.

    Writes per-row predictions, raw anomaly scores and likelihoods (--out), a plot (--plot)
    and the model (--save). Rows with a missing/unparsable value or a non-increasing timestamp
    are skipped and reported (line and column); --strict stops at the first one instead.
    """
    from ..apps.runner import stream_through_model
    from ..errors import HTMKitError

    step_tuple = parse_steps(steps)
    try:
        summary = stream_through_model(
            data=data, field=field, timestamp=timestamp, steps=step_tuple, out=out, plot=plot,
            save=save, config=config, strict=strict, seed=seed, progress=not quiet,
        )
    except HTMKitError as exc:
        fail(str(exc))
    except FileNotFoundError as exc:
        fail(str(exc))
    typer.echo(summary)
