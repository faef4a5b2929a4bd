"""Run a detector over the NAB corpus and write results in NAB's layout.

For detector ``D`` and series ``category/file.csv`` the result is
``<results_dir>/D/category/D_file.csv`` with columns ``timestamp,value,anomaly_score,label``:
one row per data row, in order, timestamp and value text copied verbatim from the data file,
``label`` 1 inside a labelled window. Each series gets a fresh detector built with the series'
minimum and maximum value, NAB's probationary period and the run's seed. Files are written to a
temporary name and moved into place, so an interrupted run never leaves a truncated result.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, ParameterError
from ..serialization import write_csv_atomic
from . import corpus as _corpus
from .detectors import DetectorError, check_label, create_detector, get_factory


@dataclass(frozen=True)
class SeriesRun:
    """What one series produced."""

    name: str
    rows: int
    seconds: float
    path: Path
    #: the time spent in the detector alone (building it and scoring every row; no file I/O):
    #: wall-clock seconds, and CPU seconds of the process that ran it
    detect_seconds: float = 0.0
    detect_cpu_seconds: float = 0.0


@dataclass
class RunSummary:
    """Result of :func:`run`."""

    detector: str
    results_dir: Path
    series: list[SeriesRun] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.series)

    @property
    def records_per_second(self) -> float:
        """Rows scored per CPU-second of detector time (the series' detector CPU times summed,
        so it depends neither on the number of workers nor on other load of the machine)."""
        busy = sum(s.detect_cpu_seconds for s in self.series)
        return self.rows / busy if busy > 0 else float("nan")


def result_path(results_dir: str | os.PathLike[str], detector: str, name: str) -> Path:
    """``<results_dir>/<detector>/<category>/<detector>_<file>`` for series ``name``."""
    cat = _corpus.category_of(name)
    file = name.rsplit("/", 1)[-1]
    base = Path(results_dir) / detector
    return (base / cat if cat else base) / f"{detector}_{file}"


def detect_series(detector: str, series: _corpus.Series, seed: int,
                  config: dict[str, Any] | None = None) -> np.ndarray:
    """Scores of a fresh ``detector`` (built with ``config`` when given) over ``series``
    (one float per row)."""
    n = len(series)
    det = create_detector(
        detector,
        min_value=float(series.values.min()),
        max_value=float(series.values.max()),
        probationary_period=_corpus.probationary_period(n),
        seed=seed,
        config=config,
    )
    scores = np.empty(n, dtype=np.float64)
    stamps = pd.DatetimeIndex(series.timestamps)
    handle = det.update
    for i, (t, v) in enumerate(zip(stamps, series.values.tolist(), strict=True)):
        scores[i] = handle(t, v)
    bad = np.flatnonzero(~np.isfinite(scores))
    if bad.size:
        i = int(bad[0])
        raise DetectorError(
            f"detector {detector!r} returned a non-finite score ({scores[i]}) at row {i} "
            f"(line {i + 2}) of {series.name}"
        )
    return scores


def run_series(
    detector: str,
    nab_dir: str,
    name: str,
    windows: Sequence[_corpus.Window],
    results_dir: str,
    seed: int,
    config: dict[str, Any] | None = None,
    label: str | None = None,
) -> SeriesRun:
    """Run ``detector`` on one series and write its result file under ``label`` (default
    the detector's name) (worker entry point)."""
    t0 = time.perf_counter()
    series = _corpus.read_series(nab_dir, name)
    bounds = _corpus.window_bounds(series, windows)
    t_detect, cpu_detect = time.perf_counter(), time.process_time()
    scores = detect_series(detector, series, seed, config)
    detect_seconds = time.perf_counter() - t_detect
    detect_cpu = time.process_time() - cpu_detect
    df = pd.DataFrame(
        {
            "timestamp": series.raw_timestamps,
            "value": series.raw_values,
            "anomaly_score": scores,
            "label": _corpus.labels_from_bounds(len(series), bounds),
        }
    )
    path = result_path(results_dir, label or detector, name)
    write_csv_atomic(df, path)
    return SeriesRun(name, len(series), time.perf_counter() - t0, path, detect_seconds,
                     detect_cpu)


def run(
    detector_name: str,
    nab_dir: str | os.PathLike[str] | None = None,
    results_dir: str | os.PathLike[str] = "results/nab",
    *,
    workers: int = 1,
    seed: int = 42,
    series: str | Sequence[str] | None = None,
    progress: bool = True,
    on_done: Callable[[SeriesRun], None] | None = None,
    config: dict[str, Any] | None = None,
    label: str | None = None,
) -> RunSummary:
    """Run ``detector_name`` on every labelled series (optionally those matching ``series``).

    ``config`` is handed to every series' detector (the ``htmkit`` detectors take a detector
    configuration, see :class:`htmkit.detector.AnomalyDetector`); results are written, and
    later scored, under ``label`` (default ``detector_name``), so that runs of one detector
    with different configurations sit side by side.

    ``workers > 1`` runs series in that many processes, largest first. Returns a summary; the
    first failing series raises (its error names the file) after the others are cancelled.
    """
    if workers < 1:
        raise ParameterError(f"workers must be >= 1, got {workers}")
    get_factory(detector_name)  # unknown names fail before any work
    label = detector_name if label is None else label
    check_label(label)
    root = _corpus.resolve_nab_dir(nab_dir)
    windows = _corpus.load_windows(root)
    names = _corpus.select_series(sorted(windows), series)
    if not names:
        raise DataError(
            f"no labelled series match {series!r}" if series else f"{root}: no labelled series"
        )
    for name in names:
        if not (root / "data" / name).is_file():
            raise DataError(f"series {name!r} is labelled but {root / 'data' / name} is missing")
    # largest first keeps the pool busy until the end
    names.sort(key=lambda n: (-(root / "data" / n).stat().st_size, n))
    total = sum(max(1, (root / "data" / n).stat().st_size) for n in names)
    # build one throw-away detector for the first series, so that an unavailable or
    # misconfigured detector fails here with its own message rather than inside a worker
    first = _corpus.read_series(root, names[0])
    create_detector(
        detector_name,
        min_value=float(first.values.min()),
        max_value=float(first.values.max()),
        probationary_period=_corpus.probationary_period(len(first)),
        seed=seed,
        config=config,
    )

    summary = RunSummary(label, Path(results_dir))
    t0 = time.perf_counter()
    args = [(detector_name, str(root), n, windows[n], str(results_dir), seed, config, label)
            for n in names]

    prog = None
    task = None
    if progress:
        from rich.progress import (
            BarColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        prog = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[done]}/{task.fields[count]} series"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            transient=False,
        )
        task = prog.add_task(f"nab run {label}", total=total, done=0, count=len(names))
        prog.start()

    def finished(res: SeriesRun) -> None:
        summary.series.append(res)
        if prog is not None and task is not None:
            size = max(1, (root / "data" / res.name).stat().st_size)
            prog.update(task, advance=size, done=len(summary.series))
        if on_done is not None:
            on_done(res)

    try:
        if workers == 1 or len(names) == 1:
            for a in args:
                finished(run_series(*a))
        else:
            with ProcessPoolExecutor(max_workers=min(workers, len(names))) as pool:
                futures = {pool.submit(run_series, *a) for a in args}
                while futures:
                    done, futures = wait(futures, return_when=FIRST_EXCEPTION)
                    for f in done:
                        exc = f.exception()
                        if exc is not None:
                            for g in futures:
                                g.cancel()
                            raise exc
                        finished(f.result())
    finally:
        if prog is not None:
            prog.stop()
    summary.series.sort(key=lambda s: s.name)
    summary.seconds = time.perf_counter() - t0
    return summary
