"""The work behind ``htmkit run`` and ``htmkit anomaly`` (apart from typer, so tests and the demo
can call it).

Both commands follow the same order: check every output path (:func:`check_outputs`), read the
CSV in streaming passes (:func:`open_source`), score the records chunk by chunk while the
per-row results go to a temporary file beside ``--out``, then publish each output on its own,
so a failure of one (say ``--plot``) never loses another (say ``--save``); the failures are
reported together (:class:`OutputError`).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, HTMKitError, ParameterError
from ..serialization import publish_temp, remove_stale_temps, temp_prefix

#: without a terminal, a progress line goes to stderr every this many rows ...
PROGRESS_EVERY_ROWS = 100_000
#: ... or after this many seconds, whichever comes first
PROGRESS_EVERY_SECONDS = 30.0


class OutputError(HTMKitError):
    """Some outputs could not be written (the others were). ``summary`` is the run's printable
    summary, ``failures`` one message per failed output, each naming its option."""

    def __init__(self, summary: str, failures: list[str]) -> None:
        super().__init__("; ".join(failures))
        self.summary = summary
        self.failures = failures


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


class ProgressLines:
    """Progress for a stream that is not a terminal: a line on stderr every
    :data:`PROGRESS_EVERY_ROWS` rows or :data:`PROGRESS_EVERY_SECONDS` seconds of a stage.
    Silent when ``enabled`` is false or stderr is a terminal (the bar is shown there)."""

    def __init__(self, label: str, enabled: bool, total: int | None = None) -> None:
        self.label = label
        self.total = total
        self.enabled = enabled and not _isatty(sys.stderr)
        self._next = PROGRESS_EVERY_ROWS
        self._stage = ""
        self._t = time.monotonic()

    def __call__(self, stage: str, done: int) -> None:
        if not self.enabled:
            return
        if stage != self._stage:
            self._stage, self._next, self._t = stage, PROGRESS_EVERY_ROWS, time.monotonic()
        now = time.monotonic()
        if done >= self._next or now - self._t >= PROGRESS_EVERY_SECONDS:
            of = f"/{self.total}" if self.total and stage == "scoring" else ""
            print(f"{self.label}: {stage} {done}{of} rows", file=sys.stderr, flush=True)
            while self._next <= done:
                self._next += PROGRESS_EVERY_ROWS
            self._t = now


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def check_outputs(data: Path | None = None, **outputs: Path | None) -> None:
    """Check each output path before any work: its folder exists or can be created and is
    writable, the path is not a folder, not the input file, not given twice, and a ``plot``
    has an image type matplotlib writes. Keyword names are the options without ``--``.

    Raises
    ------
    ParameterError
        Naming the option and the path.
    """
    seen: dict[str, str] = {}
    for name, path in outputs.items():
        if path is None:
            continue
        option = f"--{name}"
        p = Path(path)
        if str(path) == "" or p.name in ("", ".", ".."):
            raise ParameterError(f"{option}: {str(path)!r} is not a file name")
        if p.is_dir():
            raise ParameterError(f"{option} {p}: is a folder; give a file name")
        folder = p.absolute().parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if not folder.is_dir():
            raise ParameterError(f"{option} {p}: {folder} is a file, not a folder")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise ParameterError(f"{option} {p}: folder {folder} is not writable")
        if p.exists() and not os.access(p, os.W_OK):
            raise ParameterError(f"{option} {p}: the file is not writable")
        if data is not None and p.exists() and Path(data).exists() and os.path.samefile(p, data):
            raise ParameterError(f"{option} {p}: is the input file")
        key = os.path.normcase(os.path.abspath(p))
        if key in seen:
            raise ParameterError(f"{option} {p}: the same file as {seen[key]}")
        seen[key] = option
        if name == "plot" and p.suffix:
            from matplotlib.backend_bases import FigureCanvasBase

            kinds = FigureCanvasBase.get_supported_filetypes()
            if p.suffix[1:].lower() not in kinds:
                raise ParameterError(f"{option} {p}: matplotlib cannot write {p.suffix!r} "
                                     f"images (use one of {', '.join(sorted(kinds))})")


class Source:
    """Records to score: a name, the count and range of the usable rows (known before the
    first record), the skipped rows, and the records a chunk at a time."""

    def __init__(self, name: str, n_rows: int, minimum: float, maximum: float,
                 skipped: list[Any], n_skipped: int, has_time: bool, date_format: str | None,
                 chunks: Any) -> None:
        self.name, self.n_rows = name, n_rows
        self.minimum, self.maximum = minimum, maximum
        self.skipped, self.n_skipped = skipped, n_skipped
        self.has_time, self.date_format = has_time, date_format
        self._chunks = chunks

    def chunks(self) -> Iterator[Any]:
        """The usable records as :class:`~htmkit.streams.Chunk` objects, in order."""
        return self._chunks()


def open_source(data: Path | None, field: str | None, timestamp: str | None, strict: bool,
                *, sep: str | None = None, decimal: str | None = None,
                time_format: str | None = None, dayfirst: bool | None = None,
                progress: Any = None) -> Source:
    """A :class:`Source` for a CSV file (read in streaming passes, see
    :class:`~htmkit.streams.CsvStreamReader`) or, with ``data=None``, the built-in example."""
    from ..streams import Chunk, CsvStreamReader, example_stream

    if data is None:
        frame, _ = example_stream()
        chunk = Chunk(frame["value"].to_numpy(float), np.arange(2, len(frame) + 2),
                      pd.DatetimeIndex(frame["timestamp"]))
        return Source("built-in example stream", len(frame), float(chunk.values.min()),
                      float(chunk.values.max()), [], 0, True, _date_format(chunk.timestamps),
                      lambda: iter([chunk]))
    ts = None if timestamp in (None, "none") else timestamp
    reader = CsvStreamReader(data, field, ts, strict=strict, sep=sep, decimal=decimal,
                             time_format=time_format, dayfirst=dayfirst)
    reader.scan(progress)
    has_time = reader.timestamp is not None
    fmt = None
    if has_time:
        fmt = ("%Y-%m-%d" if reader.dates_only else None if reader.subsecond
               else "%Y-%m-%d %H:%M:%S")
    return Source(str(data), reader.n_rows, reader.minimum, reader.maximum, reader.skipped,
                  reader.n_skipped, has_time, fmt, lambda: _pieces(reader.chunks()))


#: rows scored between two writes of the ``--out`` rows
SCORE_PIECE_ROWS = 1000


def _pieces(chunks: Iterator[Any]) -> Iterator[Any]:
    """Split read chunks into pieces of at most :data:`SCORE_PIECE_ROWS` rows, so the first
    scores reach ``--out`` (and progress is shown) soon after scoring starts."""
    from ..streams import Chunk

    for chunk in chunks:
        n = len(chunk.values)
        for a in range(0, n, SCORE_PIECE_ROWS):
            b = min(n, a + SCORE_PIECE_ROWS)
            if a == 0 and b == n:
                yield chunk
            else:
                yield Chunk(chunk.values[a:b], chunk.lines[a:b],
                            chunk.timestamps[a:b] if chunk.timestamps is not None else None)


def _date_format(stamps: pd.DatetimeIndex) -> str | None:
    if (stamps.normalize() == stamps).all():
        return "%Y-%m-%d"
    if ((stamps - stamps.floor("s")) != 0).any():
        return None
    return "%Y-%m-%d %H:%M:%S"


def load_stream(data: Path | None, field: str | None, timestamp: str | None, strict: bool,
                **options: Any):
    """(values, timestamps or None, lines, skipped, name) from a CSV or the built-in example,
    all in memory. ``options``: ``sep``, ``decimal``, ``time_format``, ``dayfirst``."""
    from ..streams import example_stream, read_csv_stream

    if data is None:
        frame, _ = example_stream()
        return (frame["value"].to_numpy(float), pd.DatetimeIndex(frame["timestamp"]),
                np.arange(2, len(frame) + 2), [], "built-in example stream")
    ts = None if timestamp in (None, "none") else timestamp
    stream = read_csv_stream(data, field, ts, strict=strict, **options)
    return stream.values, stream.timestamps, stream.lines, stream.skipped, str(data)


class CsvOut:
    """Per-row results written chunk by chunk to a temporary file beside ``path`` and
    published as ``path`` by :meth:`finish`. A write error is kept in :attr:`failure` (the run
    goes on) instead of raised."""

    def __init__(self, path: Path, date_format: str | None, option: str = "--out") -> None:
        self.path, self.date_format, self.option = Path(path), date_format, option
        self.failure: str | None = None
        self._first = True
        self._fh: Any = None
        self._tmp: str | None = None
        try:
            folder = self.path.parent if str(self.path.parent) else Path(".")
            folder.mkdir(parents=True, exist_ok=True)
            remove_stale_temps(self.path)
            fd, self._tmp = tempfile.mkstemp(prefix=temp_prefix(self.path), suffix=".tmp",
                                             dir=folder)
            self._fh = os.fdopen(fd, "w", encoding="utf-8", newline="")
        except OSError as exc:
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        self.failure = f"{self.option} {self.path}: could not write ({exc})"
        self.abort()

    def write(self, frame: pd.DataFrame) -> None:
        """Append ``frame`` (with the header the first time)."""
        if self._fh is None:
            return
        try:
            frame.to_csv(self._fh, header=self._first, index=False,
                         date_format=self.date_format)
            self._fh.flush()  # the rows are on disk while the stream is still read
            self._first = False
        except OSError as exc:
            self._fail(exc)

    def finish(self) -> bool:
        """Publish the file; False (with :attr:`failure` set) if it could not be written."""
        if self._fh is None:
            return False
        try:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            self._fh = None
            publish_temp(self._tmp, self.path)  # type: ignore[arg-type]
            self._tmp = None
            return True
        except OSError as exc:
            self._fail(exc)
            return False

    def abort(self) -> None:
        """Drop the temporary file (nothing is published)."""
        if self._fh is not None:
            try:
                self._fh.close()
            except OSError:
                pass
            self._fh = None
        if self._tmp is not None and os.path.exists(self._tmp):
            try:
                os.unlink(self._tmp)
            except OSError:
                pass
        self._tmp = None


def write_output(option: str, path: Path, write: Any, failures: list[str]) -> bool:
    """Call ``write()``; on an error add a message naming ``option`` to ``failures``."""
    try:
        write()
        return True
    except (OSError, ValueError, TypeError, RuntimeError, HTMKitError) as exc:
        failures.append(f"{option} {path}: could not write ({type(exc).__name__}: {exc})")
        return False


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
    *,
    sep: str | None = None,
    decimal: str | None = None,
    time_format: str | None = None,
    dayfirst: bool | None = None,
) -> str:
    """Run the model over the stream; write the outputs; return a printable summary.

    Output paths are checked before the first record; ``--out`` rows are written while the
    stream is read. ``sep``, ``decimal``, ``time_format`` and ``dayfirst`` go to the CSV
    reader (:class:`~htmkit.streams.CsvStreamReader`).

    Raises
    ------
    ParameterError
        A bad output path (before any work).
    DataError
        A bad input file.
    OutputError
        Some outputs could not be written; the others were (``summary`` holds the summary).
    """
    from ..model import HTMModel, load_config

    check_outputs(data, out=out, plot=plot, save=save)
    label = f"htmkit run {Path(data).name if data is not None else 'example'}"
    lines_progress = ProgressLines(label, progress)
    src = open_source(data, field, timestamp, strict, sep=sep, decimal=decimal,
                      time_format=time_format, dayfirst=dayfirst, progress=lines_progress)
    name = src.name
    cfg = load_config(config)
    cfg["predictor"]["steps"] = list(steps)
    cfg["seed"] = seed
    if not src.has_time:
        for key in list(cfg["timestamp"]["encoder"]):
            if key.endswith("_width"):
                cfg["timestamp"]["encoder"][key] = 0
    model = HTMModel.for_data(np.array([src.minimum, src.maximum]), cfg)
    n = src.n_rows
    parts: dict[str, list[np.ndarray]] = {"line": [], "value": [], "raw": [], "like": [],
                                          "loglike": []}
    for k in steps:
        parts[f"p{k}"], parts[f"c{k}"] = [], []
    stamp_parts: list[pd.DatetimeIndex] = []
    writer = CsvOut(out, src.date_format) if out is not None else None
    lines_progress.total = n
    t0 = time.perf_counter()
    done = 0
    try:
        with _progress(n, progress and _isatty(sys.stderr), label) as bar:
            task = bar.add_task("records", total=n)
            for chunk in src.chunks():
                m = len(chunk.values)
                preds = {k: np.full(m, np.nan) for k in steps}
                conf = {k: np.full(m, np.nan) for k in steps}
                raw, like, loglike = np.zeros(m), np.zeros(m), np.zeros(m)
                ts_list = list(chunk.timestamps) if src.has_time else None
                for j in range(m):
                    rec: dict[str, Any] = {"value": float(chunk.values[j])}
                    if ts_list is not None:
                        rec["timestamp"] = ts_list[j]
                    r = model.run(rec)
                    for k in steps:
                        preds[k][j] = r.predictions.get(k, np.nan)
                        conf[k][j] = r.confidences.get(k, np.nan)
                    raw[j], like[j], loglike[j] = (r.anomaly_score, r.anomaly_likelihood,
                                                   r.log_likelihood)
                    if (done + j) % 200 == 0:
                        bar.update(task, completed=done + j + 1)
                done += m
                lines_progress("scoring", done)
                frame = pd.DataFrame({"line": chunk.lines})
                if src.has_time:
                    frame["timestamp"] = chunk.timestamps
                    stamp_parts.append(chunk.timestamps)
                frame["value"] = chunk.values
                for k in steps:
                    frame[f"prediction_{k}"] = preds[k]
                    frame[f"confidence_{k}"] = conf[k]
                    parts[f"p{k}"].append(preds[k])
                    parts[f"c{k}"].append(conf[k])
                frame["anomaly_score"] = raw
                frame["anomaly_likelihood"] = like
                frame["log_likelihood"] = loglike
                if writer is not None:
                    writer.write(frame)
                for key, a in (("line", chunk.lines), ("value", chunk.values), ("raw", raw),
                               ("like", like), ("loglike", loglike)):
                    parts[key].append(a)
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    elapsed = time.perf_counter() - t0
    if done == 0:
        if writer is not None:
            writer.abort()
        raise DataError(f"{name}: no records")
    values = np.concatenate(parts["value"])
    lines = np.concatenate(parts["line"])
    like = np.concatenate(parts["like"])
    pred_all = {k: np.concatenate(parts[f"p{k}"]) for k in steps}

    lines_out = [f"{name}: {n} records in {elapsed:.1f} s ({1000 * elapsed / max(n, 1):.2f} ms "
                 f"per record)"]
    if src.n_skipped:
        lines_out.append(f"skipped {src.n_skipped} bad rows, e.g. {src.skipped[0]}")
    for k in steps:
        target = values[k:]
        pred = pred_all[k][: n - k] if k else pred_all[k]
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
    failures: list[str] = []
    if writer is not None:
        if writer.finish():
            lines_out.append(f"wrote {out}")
        else:
            failures.append(str(writer.failure))
    if plot is not None:
        frame = pd.DataFrame({"line": lines})
        if src.has_time:
            frame["timestamp"] = stamp_parts[0].append(stamp_parts[1:])
        frame["value"] = values
        for k in steps:
            frame[f"prediction_{k}"] = pred_all[k]
            frame[f"confidence_{k}"] = np.concatenate(parts[f"c{k}"])
        frame["anomaly_score"] = np.concatenate(parts["raw"])
        frame["anomaly_likelihood"] = like
        frame["log_likelihood"] = np.concatenate(parts["loglike"])
        prob = int(model.likelihood.probationary_period)
        if write_output("--plot", plot, lambda: plot_run(frame, steps, plot,
                                                         title=Path(name).name,
                                                         probation=prob), failures):
            lines_out.append(f"wrote {plot}")
    if save is not None:
        if write_output("--save", save, lambda: model.save(save), failures):
            lines_out.append(f"saved model to {save}")
    summary = "\n".join(lines_out)
    if failures:
        raise OutputError(summary, failures)
    return summary


def plot_run(frame: pd.DataFrame, steps: tuple[int, ...], path: Path, title: str = "", *,
             threshold: float | None = None, probation: int = 0) -> Any:
    """The anomaly picture (:func:`htmkit.apps.plots.plot_anomalies`) of a run: the value with
    each step's prediction (aligned to the time it predicts), the flagged records, the
    probationary period, and the ``log_likelihood`` column as the score; returns the Figure.
    ``threshold`` defaults to :data:`~htmkit.apps.plots.DEFAULT_THRESHOLD`."""
    from .plots import DEFAULT_THRESHOLD, plot_anomalies

    x = frame["timestamp"] if "timestamp" in frame else frame["line"]
    preds = {f"{k}-step prediction": frame[f"prediction_{k}"].shift(k) for k in steps}
    return plot_anomalies(x, frame["value"], frame["log_likelihood"],
                          threshold=DEFAULT_THRESHOLD if threshold is None else threshold,
                          probation=probation, predictions=preds, title=title, path=path)
