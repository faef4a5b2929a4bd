"""The work behind ``htmkit run`` and ``htmkit anomaly`` (apart from typer, so tests and the demo
can call it)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError
from ..serialization import write_csv_atomic


def _progress(total: int, enabled: bool, label: str):
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    disable=not enabled, transient=True)


def load_stream(data: Path | None, field: str | None, timestamp: str | None, strict: bool):
    """(values, timestamps or None, lines, skipped, name) from a CSV or the built-in example."""
    from ..streams import example_stream, read_csv_stream

    if data is None:
        frame, _ = example_stream()
        return (frame["value"].to_numpy(float), pd.DatetimeIndex(frame["timestamp"]),
                np.arange(2, len(frame) + 2), [], "built-in example stream")
    ts = None if timestamp in (None, "none") else timestamp
    stream = read_csv_stream(data, field, ts, strict=strict)
    return stream.values, stream.timestamps, stream.lines, stream.skipped, str(data)


def stream_through_model(
    data: Path | None,
    field: str | None = None,
    timestamp: str | None = "auto",
    steps: tuple[int, ...] = (1,),
    out: Path | None = None,
    plot: Path | None = None,
    save: Path | None = None,
    config: Path | dict[str, Any] | None = None,
    strict: bool = False,
    seed: int = 42,
    progress: bool = True,
) -> str:
    """Run the model over the stream; write the outputs; return a printable summary."""
    from ..model import HTMModel, load_config

    values, stamps, lines, skipped, name = load_stream(data, field, timestamp, strict)
    cfg = load_config(config)
    cfg["predictor"]["steps"] = list(steps)
    cfg["seed"] = seed
    if stamps is None:
        for key in list(cfg["timestamp"]["encoder"]):
            if key.endswith("_width"):
                cfg["timestamp"]["encoder"][key] = 0
    model = HTMModel.for_data(values, cfg)
    n = len(values)
    preds = {k: np.full(n, np.nan) for k in steps}
    conf = {k: np.full(n, np.nan) for k in steps}
    raw = np.zeros(n)
    like = np.zeros(n)
    loglike = np.zeros(n)
    ts_list = list(stamps) if stamps is not None else None
    t0 = time.perf_counter()
    with _progress(n, progress, f"htmkit run {Path(name).name}") as bar:
        task = bar.add_task("records", total=n)
        for i in range(n):
            rec = {"value": float(values[i])}
            if ts_list is not None:
                rec["timestamp"] = ts_list[i]
            r = model.run(rec)
            for k in steps:
                preds[k][i] = r.predictions.get(k, np.nan)
                conf[k][i] = r.confidences.get(k, np.nan)
            raw[i], like[i], loglike[i] = r.anomaly_score, r.anomaly_likelihood, r.log_likelihood
            if i % 200 == 0:
                bar.update(task, completed=i + 1)
    elapsed = time.perf_counter() - t0

    frame = pd.DataFrame({"line": lines})
    if stamps is not None:
        frame["timestamp"] = stamps
    frame["value"] = values
    for k in steps:
        frame[f"prediction_{k}"] = preds[k]
        frame[f"confidence_{k}"] = conf[k]
    frame["anomaly_score"] = raw
    frame["anomaly_likelihood"] = like
    frame["log_likelihood"] = loglike

    lines_out = [f"{name}: {n} records in {elapsed:.1f} s ({1000 * elapsed / max(n, 1):.2f} ms "
                 f"per record)"]
    if skipped:
        lines_out.append(f"skipped {len(skipped)} bad rows, e.g. {skipped[0]}")
    for k in steps:
        target = values[k:]
        pred = preds[k][: n - k] if k else preds[k]
        ok = np.isfinite(pred)
        if ok.sum() > 10:
            start = int(0.1 * ok.sum())
            err = target[start:][ok[start:]] - pred[start:][ok[start:]]
            denom = np.sum(np.abs(target[start:][ok[start:]]))
            mape = float(np.sum(np.abs(err)) / denom) if denom else float("nan")
            nrmse = float(np.sqrt(np.mean(err**2)) / (np.std(target[start:][ok[start:]]) or 1))
            lines_out.append(f"{k}-step prediction (after the first 10%): NRMSE {nrmse:.3f}, "
                             f"MAPE {mape:.3f}")
    top = np.argsort(-like, kind="stable")[:5]
    lines_out.append("highest anomaly likelihood at lines: " + ", ".join(
        f"{int(lines[i])} ({like[i]:.4f})" for i in sorted(top)))
    if out is not None:
        write_csv_atomic(frame, out)
        lines_out.append(f"wrote {out}")
    if plot is not None:
        plot_run(frame, steps, plot, title=Path(name).name)
        lines_out.append(f"wrote {plot}")
    if save is not None:
        model.save(save)
        lines_out.append(f"saved model to {save}")
    if n == 0:
        raise DataError(f"{name}: no records")
    return "\n".join(lines_out)


def plot_run(frame: pd.DataFrame, steps: tuple[int, ...], path: Path, title: str = "") -> None:
    """Value with each step's prediction (aligned to the time it predicts) and the anomaly
    likelihood."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = frame["timestamp"] if "timestamp" in frame else frame["line"]
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(12, 6), sharex=True,
                                   gridspec_kw={"height_ratios": [2, 1]})
    ax1.plot(x, frame["value"], lw=0.8, color="black", label="value")
    for k in steps:
        ax1.plot(x, frame[f"prediction_{k}"].shift(k), lw=0.8, alpha=0.8,
                 label=f"{k}-step prediction")
    ax1.legend(loc="upper left", fontsize=8)
    ax1.set_title(title)
    ax2.plot(x, frame["anomaly_likelihood"], lw=0.8, color="tab:red", label="anomaly likelihood")
    ax2.plot(x, frame["anomaly_score"], lw=0.5, alpha=0.4, color="gray", label="raw anomaly")
    ax2.set_ylim(-0.02, 1.02)
    ax2.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
