"""``htmkit anomaly``: score any CSV stream with the ready AnomalyDetector."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from .main import app, fail


@app.command("anomaly")
def anomaly_command(
    data: Path = typer.Argument(None, help="CSV file; omit to use the built-in example stream."),
    value: str = typer.Option(None, "--value", help="Numeric column (default: the first "
                              "column that is not the timestamp)."),
    timestamp: str = typer.Option("auto", "--timestamp", help="Timestamp column ('auto': a "
                                  "column named 'timestamp'; 'none': ignore time)."),
    out: Path = typer.Option(None, "--out", help="Write per-row scores to this CSV."),
    plot: Path = typer.Option(None, "--plot", help="Write a PNG of the series, the anomaly "
                              "likelihood and the flagged points."),
    threshold: float = typer.Option(0.5, "--threshold", help="Flag rows whose score (log "
                                    "likelihood scale, 0..1) reaches this."),
    probation: int = typer.Option(None, "--probation", help="Probationary period (default: "
                                  "min(15% of the rows, 750), as NAB)."),
    refractory: int = typer.Option(210, "--refractory", help="After an alarm (score >= 0.5) "
                                   "the likelihood raises no new alarm for this many rows; "
                                   "values out of the range seen still score 1. 0: off."),
    strict: bool = typer.Option(False, "--strict", help="Stop at the first bad row."),
    seed: int = typer.Option(42, "--seed", help="Random seed."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Score a stream for anomalies (same bad-row rules as `htmkit run`)."""
    import numpy as np
    import pandas as pd

    from ..apps.runner import _progress, load_stream
    from ..detector import DEFAULT_SUPPRESSION, AnomalyDetector
    from ..errors import HTMKitError
    from ..serialization import write_csv_atomic

    if refractory < 0:
        fail(f"--refractory must be >= 0 rows, got {refractory}")
    level, _, factor = DEFAULT_SUPPRESSION
    suppression = (level, refractory, factor) if refractory > 0 else None
    try:
        values, stamps, lines, skipped, name = load_stream(data, value, timestamp, strict)
        n = len(values)
        prob = probation if probation is not None else max(2, min(int(0.15 * n), 750))
        det = AnomalyDetector(min_value=float(values.min()), max_value=float(values.max()),
                              probationary_period=prob, seed=seed,
                              use_timestamp=stamps is not None, suppression=suppression)
        scores = np.zeros(n)
        t0 = time.perf_counter()
        ts_list = list(stamps) if stamps is not None else [None] * n
        with _progress(n, not quiet, f"htmkit anomaly {Path(name).name}") as bar:
            task = bar.add_task("records", total=n)
            for i in range(n):
                scores[i] = det.update(ts_list[i], float(values[i]))
                if i % 200 == 0:
                    bar.update(task, completed=i + 1)
        elapsed = time.perf_counter() - t0
    except HTMKitError as exc:
        fail(str(exc))
    except FileNotFoundError as exc:
        fail(str(exc))
    flagged = (scores >= threshold) & (np.arange(n) >= prob)
    frame = pd.DataFrame({"line": lines})
    if stamps is not None:
        frame["timestamp"] = stamps
    frame["value"] = values
    frame["anomaly_score"] = scores
    frame["flagged"] = flagged.astype(int)
    typer.echo(f"{name}: {n} records in {elapsed:.1f} s "
               f"({1000 * elapsed / max(n, 1):.2f} ms per record); probation {prob} rows")
    if skipped:
        typer.echo(f"skipped {len(skipped)} bad rows, e.g. {skipped[0]}")
    idx = np.flatnonzero(flagged)
    shown = ", ".join(str(int(lines[i])) for i in idx[:20])
    typer.echo(f"flagged {idx.size} rows (score >= {threshold})"
               + (f" at lines {shown}" + (" ..." if idx.size > 20 else "") if idx.size else ""))
    if out is not None:
        write_csv_atomic(frame, out)
        typer.echo(f"wrote {out}")
    if plot is not None:
        _plot(frame, threshold, plot, Path(name).name)
        typer.echo(f"wrote {plot}")


def _plot(frame, threshold: float, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = frame["timestamp"] if "timestamp" in frame else frame["line"]
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(12, 5), sharex=True,
                                 gridspec_kw={"height_ratios": [2, 1]})
    a1.plot(x, frame["value"], lw=0.7, color="black")
    hit = frame["flagged"] == 1
    a1.scatter(x[hit], frame["value"][hit], color="tab:red", s=18, zorder=3, label="flagged")
    a1.set_title(title)
    a1.legend(loc="upper left", fontsize=8)
    a2.plot(x, frame["anomaly_score"], lw=0.7, color="tab:red", label="anomaly score")
    a2.axhline(threshold, ls="--", lw=0.7, color="gray", label="threshold")
    a2.set_ylim(-0.02, 1.02)
    a2.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
