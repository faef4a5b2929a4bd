"""``htmkit run``: stream a CSV column (or the built-in example) through an HTMModel."""

from __future__ import annotations

from pathlib import Path

import typer

from .main import app, fail

SEP_HELP = ("Field separator: one character, or 'tab' (default: the one of , ; tab | found most "
            "in the header).")
DECIMAL_HELP = ("Decimal mark, '.' or ',' (default: '.' in comma-separated files, else what "
                "the value column shows).")
TIME_FORMAT_HELP = ("Timestamp format: 'epoch' (seconds since 1970 UTC), 'epoch_ms', or a "
                    "strftime format such as '%d/%m/%Y %H:%M' (default: ISO 8601 or what the "
                    "file proves).")
DAYFIRST_HELP = ("Read dates like 02/12/2013 day-first (--dayfirst) or month-first "
                 "(--monthfirst); needed when no date in the file proves the order.")


def fail_outputs(failures: list[str]) -> None:
    """Print one error line per output that could not be written and exit with code 1."""
    for message in failures:
        typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


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
    plot: Path = typer.Option(None, "--plot", help="Write a PNG: value and prediction with "
                              "the flagged records (log likelihood >= 0.5) and the "
                              "probationary period marked; the log-likelihood score and its "
                              "threshold."),
    save: Path = typer.Option(None, "--save", help="Save the trained model to this file."),
    config: Path = typer.Option(None, "--config", help="Model configuration (YAML)."),
    strict: bool = typer.Option(False, "--strict", help="Stop at the first bad row instead of "
                                "skipping it."),
    seed: int = typer.Option(42, "--seed", help="Random seed."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar or progress lines."),
    sep: str = typer.Option(None, "--sep", help=SEP_HELP),
    decimal: str = typer.Option(None, "--decimal", help=DECIMAL_HELP),
    time_format: str = typer.Option(None, "--time-format", help=TIME_FORMAT_HELP),
    dayfirst: bool = typer.Option(None, "--dayfirst/--monthfirst", help=DAYFIRST_HELP,
                                  show_default=False),
) -> None:
    """Stream a CSV column through encoders -> SP -> TM -> predictor + anomaly likelihood.

    Writes per-row predictions, raw anomaly scores and likelihoods (--out), a plot (--plot)
    and the model (--save). Rows with a missing/unparsable value or a non-increasing timestamp
    are skipped and reported (line and column); --strict stops at the first one instead.
    Output paths are checked before the first record; an output that cannot be written is
    reported (exit code 1) without losing the others. The input rules (separator, decimal
    mark, dates) are in the docs' "Input rules" page.
    """
    from ..apps.runner import OutputError, stream_through_model
    from ..errors import HTMKitError

    step_tuple = parse_steps(steps)
    try:
        summary = stream_through_model(
            data=data, field=field, timestamp=timestamp, steps=step_tuple, out=out, plot=plot,
            save=save, config=config, strict=strict, seed=seed, progress=not quiet,
            sep=sep, decimal=decimal, time_format=time_format, dayfirst=dayfirst,
        )
    except OutputError as exc:
        typer.echo(exc.summary)
        fail_outputs(exc.failures)
    except HTMKitError as exc:
        fail(str(exc))
    except FileNotFoundError as exc:
        fail(str(exc))
    typer.echo(summary)
