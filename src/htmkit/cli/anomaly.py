"""``htmkit anomaly``: score any CSV stream with the ready AnomalyDetector."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from .main import app, fail
from .run import DAYFIRST_HELP, DECIMAL_HELP, SEP_HELP, TIME_FORMAT_HELP, fail_outputs


@app.command("anomaly")
def anomaly_command(
    data: Path = typer.Argument(None, help="CSV file; omit to use the built-in example stream."),
    value: str = typer.Option(None, "--value", help="Numeric column (default: the first "
                              "column that is not the timestamp)."),
    timestamp: str = typer.Option("auto", "--timestamp", help="Timestamp column ('auto': a "
                                  "column named 'timestamp'; 'none': ignore time)."),
    out: Path = typer.Option(None, "--out", help="Write per-row scores to this CSV."),
    plot: Path = typer.Option(None, "--plot", help="Write a PNG: the series with the flagged "
                              "records and the probationary period marked; the score and the "
                              "threshold."),
    threshold: float = typer.Option(0.5, "--threshold", help="Flag rows whose score (log "
                                    "likelihood scale, 0..1) reaches this."),
    probation: int = typer.Option(None, "--probation", help="Probationary period (default: "
                                  "min(15% of the rows, 750), as NAB)."),
    refractory: int = typer.Option(210, "--refractory", help="After an alarm (score >= 0.5) "
                                   "the likelihood raises no new alarm for this many rows; "
                                   "values out of the range seen still score 1. 0: off."),
    strict: bool = typer.Option(False, "--strict", help="Stop at the first bad row."),
    seed: int = typer.Option(42, "--seed", help="Random seed."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar or progress lines."),
    sep: str = typer.Option(None, "--sep", help=SEP_HELP),
    decimal: str = typer.Option(None, "--decimal", help=DECIMAL_HELP),
    time_format: str = typer.Option(None, "--time-format", help=TIME_FORMAT_HELP),
    dayfirst: bool = typer.Option(None, "--dayfirst/--monthfirst", help=DAYFIRST_HELP,
                                  show_default=False),
) -> None:
    """Score a stream for anomalies (same bad-row and input rules as `htmkit run`).

    The file is read in streaming passes (memory stays flat with its length) and the --out rows
    are written while it is read. Output paths are checked before the first record; an output
    that cannot be written is reported (exit code 1) without losing the others.
    """
    import sys

    import numpy as np
    import pandas as pd

    from ..apps.plots import plot_anomalies
    from ..apps.runner import (
        CsvOut,
        ProgressLines,
        _isatty,
        _progress,
        check_outputs,
        open_source,
        write_output,
    )
    from ..detector import DEFAULT_SUPPRESSION, AnomalyDetector
    from ..errors import HTMKitError

    if refractory < 0:
        fail(f"--refractory must be >= 0 rows, got {refractory}")
    level, _, factor = DEFAULT_SUPPRESSION
    suppression = (level, refractory, factor) if refractory > 0 else None
    writer = None
    keep = plot is not None  # the plot needs every row; the rest needs none
    kept: dict[str, list] = {"line": [], "timestamp": [], "value": [], "score": []}
    flagged_lines: list[int] = []
    n_flagged = 0
    try:
        check_outputs(data, out=out, plot=plot)
        label = f"htmkit anomaly {data.name if data is not None else 'example'}"
        lines_progress = ProgressLines(label, not quiet)
        src = open_source(data, value, timestamp, strict, sep=sep, decimal=decimal,
                          time_format=time_format, dayfirst=dayfirst, progress=lines_progress)
        name = src.name
        n = src.n_rows
        lines_progress.total = n
        prob = probation if probation is not None else max(2, min(int(0.15 * n), 750))
        det = AnomalyDetector(min_value=src.minimum, max_value=src.maximum,
                              probationary_period=prob, seed=seed,
                              use_timestamp=src.has_time, suppression=suppression)
        if out is not None:
            writer = CsvOut(out, src.date_format)
        t0 = time.perf_counter()
        done = 0
        with _progress(n, not quiet and _isatty(sys.stderr),
                       f"htmkit anomaly {Path(name).name}") as bar:
            task = bar.add_task("records", total=n)
            for chunk in src.chunks():
                m = len(chunk.values)
                scores = np.zeros(m)
                ts_list = list(chunk.timestamps) if src.has_time else [None] * m
                for j in range(m):
                    scores[j] = det.update(ts_list[j], float(chunk.values[j]))
                    if (done + j) % 200 == 0:
                        bar.update(task, completed=done + j + 1)
                flagged = (scores >= threshold) & (np.arange(done, done + m) >= prob)
                done += m
                lines_progress("scoring", done)
                hit = np.flatnonzero(flagged)
                n_flagged += hit.size
                if len(flagged_lines) < 20:
                    first = hit[: 20 - len(flagged_lines)]
                    flagged_lines.extend(int(x) for x in chunk.lines[first])
                frame = pd.DataFrame({"line": chunk.lines})
                if src.has_time:
                    frame["timestamp"] = chunk.timestamps
                frame["value"] = chunk.values
                frame["anomaly_score"] = scores
                frame["flagged"] = flagged.astype(int)
                if writer is not None:
                    writer.write(frame)
                if keep:
                    kept["line"].append(chunk.lines)
                    kept["value"].append(chunk.values)
                    kept["score"].append(scores)
                    if src.has_time:
                        kept["timestamp"].append(chunk.timestamps)
        elapsed = time.perf_counter() - t0
    except HTMKitError as exc:
        if writer is not None:
            writer.abort()
        fail(str(exc))
    except FileNotFoundError as exc:
        if writer is not None:
            writer.abort()
        fail(str(exc))
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    typer.echo(f"{name}: {n} records in {elapsed:.1f} s "
               f"({1000 * elapsed / max(n, 1):.2f} ms per record); probation {prob} rows")
    if src.n_skipped:
        typer.echo(f"skipped {src.n_skipped} bad rows, e.g. {src.skipped[0]}")
    shown = ", ".join(str(x) for x in flagged_lines)
    typer.echo(f"flagged {n_flagged} rows (score >= {threshold})"
               + (f" at lines {shown}" + (" ..." if n_flagged > 20 else "") if n_flagged else ""))
    failures: list[str] = []
    if writer is not None:
        if writer.finish():
            typer.echo(f"wrote {out}")
        else:
            failures.append(str(writer.failure))
    if plot is not None:
        frame = pd.DataFrame({"line": np.concatenate(kept["line"])})
        if src.has_time:
            frame["timestamp"] = kept["timestamp"][0].append(kept["timestamp"][1:])
        frame["value"] = np.concatenate(kept["value"])
        frame["anomaly_score"] = np.concatenate(kept["score"])
        if write_output("--plot", plot, lambda: plot_anomalies(
                frame["timestamp"] if "timestamp" in frame else frame["line"], frame["value"],
                frame["anomaly_score"], threshold=threshold, probation=prob,
                title=Path(name).name, path=plot), failures):
            typer.echo(f"wrote {plot}")
    if failures:
        fail_outputs(failures)

