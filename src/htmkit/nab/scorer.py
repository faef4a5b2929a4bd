"""NAB's published scoring, vectorised.

The rules (NAB v1.x ``Sweeper``; written from its description and source, not copied):

* **Probation.** The first ``min(floor(p * n), 750)`` rows of a series (``p`` =
  :data:`~htmkit.nab.corpus.PROBATIONARY_PERCENT`) are not scored at
  all: they are neither detections nor misses, and a window lying wholly inside them counts
  for nothing (NAB's windows all end after probation).
* **Windows.** Each labelled window ``[a, b]`` (row indices, inclusive, width ``w = b-a+1``)
  is worth one true positive or one miss. With detection = ``anomaly_score >= threshold``,
  the *earliest* scored detection at row ``i`` of the window earns
  ``A_TP * sigma(-(b - i + 1) / w) / sigma(-1)`` -- 1 at the window's first row, falling
  towards 0 at its end -- where ``sigma(x) = 2 / (1 + exp(5 x)) - 1`` (``-1`` for
  ``x > 3``). Later detections in the same window add nothing. A window with no scored
  detection costs ``-A_FN``.
* **False positives.** Every detection outside the windows costs ``A_FP * sigma(d)`` with
  ``d = (i - b_prev) / (w_prev - 1)`` measured from the end of the closest preceding window
  (so a detection right after a window costs little and one far from it costs about
  ``A_FP``), or ``-A_FP`` when no window precedes it.
* **Profiles.** ``standard``, ``reward_low_FP_rate`` (twice the standard A_FP) and
  ``reward_low_FN_rate`` (A_FN 2), all with A_TP and A_TN 1 -- NAB's ``config/profiles.json``,
  :data:`PROFILES`.
* **Threshold.** One threshold per detector and profile, the one maximising the raw score
  summed over the whole corpus; every distinct anomaly score (and "nothing", reported as 1.1
  like NAB) is tried. Ties go to the higher threshold, as in NAB's optimizer.
* **Normalization.** ``100 * (raw - null) / (perfect - null)``, where ``perfect`` is
  ``A_TP`` times the number of windows and ``null`` is the raw score of NAB's null detector
  (constant score) at its own optimal threshold -- on NAB that is the never-firing score
  ``-A_FN * windows``.

``digits`` (off by default) rounds anomaly scores to that many significant digits before
scoring. NAB's published result files went through Python 2's 12-digit ``str(float)``, which
turns scores like 0.99999999999977 into exactly 1.0 and so changes the optimal threshold;
``digits=12`` reproduces NAB's published numbers (windowedGaussian's are in
benchmarks/results/published.json).

The sweep sorts all scored rows once by anomaly score and updates the total incrementally
(false positives add their cost; a window changes only when a detection earlier than its
current best appears), so thousands of thresholds over 365k rows take well under a second.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, InputError, ParameterError
from . import corpus as _corpus

NOTHING_THRESHOLD = 1.1
"""Threshold NAB reports for "no detection at all" (above every score in [0, 1])."""


@dataclass(frozen=True)
class CostMatrix:
    """NAB application-profile weights."""

    tp: float
    fp: float
    fn: float
    tn: float = 1.0


PROFILES: dict[str, CostMatrix] = {
    "standard": CostMatrix(tp=1.0, fp=0.11, fn=1.0, tn=1.0),
    "reward_low_FP_rate": CostMatrix(tp=1.0, fp=0.22, fn=1.0, tn=1.0),
    "reward_low_FN_rate": CostMatrix(tp=1.0, fp=0.11, fn=2.0, tn=1.0),
}

#: Short column labels for tables.
PROFILE_LABELS = {
    "standard": "standard",
    "reward_low_FP_rate": "low FP",
    "reward_low_FN_rate": "low FN",
}


def scaled_sigmoid(position: Any) -> Any:
    """NAB's scaled sigmoid: ``2 / (1 + exp(5 x)) - 1``, and ``-1`` for ``x > 3``."""
    x = np.asarray(position, dtype=np.float64)
    with np.errstate(over="ignore"):
        out = 2.0 / (1.0 + np.exp(5.0 * x)) - 1.0
    out = np.where(x > 3.0, -1.0, out)
    return float(out) if out.ndim == 0 else out


MAX_TP = float(scaled_sigmoid(-1.0))


# --------------------------------------------------------------------------------------------
# Per-series geometry (profile independent)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SeriesLayout:
    """Scoring geometry of one series with its anomaly scores.

    ``window_of_row`` is the window index of each row (-1 outside); ``tp_unit`` holds the
    unweighted true-positive reward of in-window rows, ``fp_unit`` the unweighted (negative)
    false-positive cost of the others; ``scorable`` is ``row >= probation``.
    """

    name: str
    scores: np.ndarray
    bounds: np.ndarray
    probation: int
    window_of_row: np.ndarray
    tp_unit: np.ndarray
    fp_unit: np.ndarray

    @property
    def n(self) -> int:
        return int(self.scores.shape[0])

    @property
    def category(self) -> str:
        return _corpus.category_of(self.name)

    @property
    def scorable(self) -> np.ndarray:
        return np.arange(self.n) >= self.probation

    @property
    def window_scorable(self) -> np.ndarray:
        return self.bounds[:, 1] >= self.probation

    def with_scores(self, scores: np.ndarray) -> SeriesLayout:
        scores = np.asarray(scores, dtype=np.float64)
        if scores.shape != self.scores.shape:
            raise InputError("scores must keep the series length")
        return SeriesLayout(
            self.name,
            scores,
            self.bounds,
            self.probation,
            self.window_of_row,
            self.tp_unit,
            self.fp_unit,
        )

    def row_values(self, cost: CostMatrix) -> np.ndarray:
        """Weighted value of detecting each row (reward inside windows, cost outside)."""
        return np.where(self.window_of_row >= 0, self.tp_unit * cost.tp, self.fp_unit * cost.fp)


def layout_series(
    name: str,
    scores: Sequence[float] | np.ndarray,
    bounds: Sequence[Sequence[int]] | np.ndarray = (),
    probation: int | None = None,
) -> SeriesLayout:
    """Geometry for a series of ``len(scores)`` rows with windows ``bounds`` (row indices).

    ``probation`` defaults to NAB's rule (:func:`htmkit.nab.corpus.probationary_period`).
    """
    s = np.asarray(scores, dtype=np.float64).ravel()
    n = s.shape[0]
    if not np.all(np.isfinite(s)):
        i = int(np.flatnonzero(~np.isfinite(s))[0])
        raise DataError(f"{name}: anomaly score at row {i} is not finite ({s[i]})")
    b = np.asarray(bounds, dtype=np.int64).reshape(-1, 2)
    if b.size:
        if b.min() < 0 or b.max() >= n or np.any(b[:, 1] < b[:, 0]):
            raise DataError(f"{name}: window rows {b.tolist()} outside 0..{n - 1}")
        if np.any(b[1:, 0] <= b[:-1, 1]):
            raise DataError(f"{name}: windows overlap or are not sorted: {b.tolist()}")
    p = _corpus.probationary_period(n) if probation is None else int(probation)

    rows = np.arange(n)
    k = np.searchsorted(b[:, 0], rows, side="right") - 1  # last window starting at or before
    inside = (k >= 0) & (rows <= b[np.maximum(k, 0), 1]) if b.size else np.zeros(n, bool)
    window_of_row = np.where(inside, k, -1)

    tp_unit = np.zeros(n)
    fp_unit = np.zeros(n)
    if b.size:
        kk = window_of_row[inside]
        width = (b[kk, 1] - b[kk, 0] + 1).astype(np.float64)
        tp_unit[inside] = scaled_sigmoid(-(b[kk, 1] - rows[inside] + 1) / width) / MAX_TP
    out = ~inside
    prev = np.searchsorted(b[:, 1], rows[out], side="left") - 1  # last window ending before
    unit = np.full(prev.shape, -1.0)
    has = prev >= 0
    if has.any():
        pb = b[prev[has]]
        wm1 = (pb[:, 1] - pb[:, 0]).astype(np.float64)  # width - 1
        dist = (rows[out][has] - pb[:, 1]).astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            pos = np.where(wm1 > 0, dist / np.where(wm1 > 0, wm1, 1.0), np.inf)
        unit[has] = scaled_sigmoid(pos)
    fp_unit[out] = unit
    return SeriesLayout(name, s, b, p, window_of_row, tp_unit, fp_unit)


# --------------------------------------------------------------------------------------------
# Threshold sweep over a corpus
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Sweep:
    """Raw score at every candidate threshold (descending); row counts as NAB reports them."""

    thresholds: np.ndarray
    scores: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    tn: np.ndarray

    @property
    def best(self) -> int:
        """Index of the best score (first, i.e. highest threshold, on ties)."""
        return int(np.argmax(self.scores))

    @property
    def threshold(self) -> float:
        return float(self.thresholds[self.best])

    @property
    def score(self) -> float:
        return float(self.scores[self.best])


def sweep(layouts: Iterable[SeriesLayout], cost: CostMatrix) -> Sweep:
    """NAB raw score of the whole corpus for every distinct threshold."""
    s_parts, v_parts, g_parts = [], [], []
    offset = 0
    live_windows = 0
    top = -math.inf
    for L in layouts:
        m = L.scorable
        w = L.window_of_row[m]
        s_parts.append(L.scores[m])
        v_parts.append(L.row_values(cost)[m])
        g_parts.append(np.where(w >= 0, w + offset, -1))
        offset += L.bounds.shape[0]
        live_windows += int(L.window_scorable.sum())
        if L.n:
            top = max(top, float(L.scores.max()))
    s = np.concatenate(s_parts) if s_parts else np.zeros(0)
    v = np.concatenate(v_parts) if v_parts else np.zeros(0)
    g = np.concatenate(g_parts) if g_parts else np.zeros(0, np.int64)

    order = np.argsort(-s, kind="stable")
    s, v, g = s[order], v[order], g[order]
    inwin = g >= 0
    inc = np.where(inwin, 0.0, v)  # false positives add their (negative) value
    idx = np.flatnonzero(inwin)
    if idx.size:
        # a window's contribution is the best (earliest-row) detection so far, -A_FN before any
        gi = g[idx]
        best = pd.Series(v[idx]).groupby(gi, sort=False).cummax()
        before = best.groupby(gi, sort=False).shift(1).fillna(-cost.fn)
        inc[idx] = best.to_numpy() - before.to_numpy()
    base = -cost.fn * live_windows
    total = base + np.cumsum(inc)

    ends = np.flatnonzero(np.r_[s[1:] != s[:-1], True]) if s.size else np.zeros(0, np.int64)
    t0 = NOTHING_THRESHOLD if top < NOTHING_THRESHOLD else float(np.nextafter(top, np.inf))
    n_in, n_out = int(inwin.sum()), int((~inwin).sum())
    tp = np.r_[0, np.cumsum(inwin)[ends]].astype(np.int64)
    fp = np.r_[0, np.cumsum(~inwin)[ends]].astype(np.int64)
    return Sweep(
        thresholds=np.r_[t0, s[ends]],
        scores=np.r_[base, total[ends]],
        tp=tp,
        fp=fp,
        fn=n_in - tp,
        tn=n_out - fp,
    )


# --------------------------------------------------------------------------------------------
# Scoring at a fixed threshold
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeriesScore:
    """One series at one threshold: raw NAB score, row counts and window outcomes."""

    name: str
    raw: float
    tp: int
    fp: int
    fn: int
    tn: int
    windows: int
    windows_detected: int
    first_detections: tuple[int | None, ...]


def score_series(layout: SeriesLayout, cost: CostMatrix, threshold: float) -> SeriesScore:
    """Raw NAB score of one series when ``anomaly_score >= threshold`` is a detection."""
    m = layout.scorable
    det = (layout.scores >= threshold) & m
    inwin = layout.window_of_row >= 0
    fp_mask = det & ~inwin
    raw = float(np.sum(layout.fp_unit[fp_mask]) * cost.fp)
    firsts: list[int | None] = []
    detected = 0
    for k, live in enumerate(layout.window_scorable):
        if not live:
            firsts.append(None)
            continue
        rows = np.flatnonzero(det & (layout.window_of_row == k))
        if rows.size:
            raw += float(layout.tp_unit[rows[0]] * cost.tp)
            firsts.append(int(rows[0]))
            detected += 1
        else:
            raw -= cost.fn
            firsts.append(None)
    tp = int(np.sum(det & inwin))
    fp = int(np.sum(fp_mask))
    return SeriesScore(
        name=layout.name,
        raw=raw,
        tp=tp,
        fp=fp,
        fn=int(np.sum(m & inwin)) - tp,
        tn=int(np.sum(m & ~inwin)) - fp,
        windows=int(layout.bounds.shape[0]),
        windows_detected=detected,
        first_detections=tuple(firsts),
    )


# --------------------------------------------------------------------------------------------
# Reports
# --------------------------------------------------------------------------------------------


def normalize(raw: float, null: float, perfect: float) -> float | None:
    """``100 * (raw - null) / (perfect - null)``; ``None`` when undefined (no windows)."""
    den = perfect - null
    if den == 0:
        return None
    return 100.0 * (raw - null) / den


@dataclass
class ProfileScore:
    """Corpus result for one profile."""

    profile: str
    cost: CostMatrix
    threshold: float
    raw: float
    null: float
    perfect: float
    score: float | None
    tp: int
    fp: int
    fn: int
    tn: int
    windows: int
    windows_detected: int
    null_threshold: float


@dataclass
class GroupScore:
    """A category (or any group of series) under one profile, at the corpus threshold."""

    raw: float
    null: float
    perfect: float
    score: float | None
    series: int
    windows: int
    windows_detected: int
    fp: int


@dataclass
class ScoreReport:
    """Everything :func:`score_layouts` computes; :meth:`to_dict` is JSON-ready."""

    detector: str
    n_series: int
    n_rows: int
    n_windows: int
    digits: int | None = None
    profiles: dict[str, ProfileScore] = field(default_factory=dict)
    categories: dict[str, dict[str, GroupScore]] = field(default_factory=dict)
    series: dict[str, dict[str, SeriesScore]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "detector": self.detector,
            "n_series": self.n_series,
            "n_rows": self.n_rows,
            "n_windows": self.n_windows,
            "score_digits": self.digits,
            "probationary_percent": _corpus.PROBATIONARY_PERCENT,
            "profiles": {k: asdict(v) for k, v in self.profiles.items()},
            "categories": {
                c: {p: asdict(g) for p, g in per.items()} for c, per in self.categories.items()
            },
            "series": {
                n: {
                    p: {**asdict(s), "first_detections": list(s.first_detections)}
                    for p, s in per.items()
                }
                for n, per in self.series.items()
            },
        }


def round_significant(scores: np.ndarray, digits: int) -> np.ndarray:
    """Round to ``digits`` significant digits, as ``'%.{digits}g' % x`` would."""
    if digits < 1:
        raise ParameterError(f"digits must be >= 1, got {digits!r}")
    fmt = f"%.{int(digits)}g"
    return np.array([float(fmt % x) for x in np.asarray(scores, dtype=np.float64).tolist()])


def score_layouts(
    detector: str,
    layouts: Sequence[SeriesLayout],
    profiles: Mapping[str, CostMatrix] | None = None,
    digits: int | None = None,
) -> ScoreReport:
    """Sweep, pick thresholds, normalise against the null detector and break down results.

    ``digits`` rounds every anomaly score first (see the module docstring).
    """
    profiles = PROFILES if profiles is None else profiles
    layouts = list(layouts)
    if digits is not None:
        layouts = [L.with_scores(round_significant(L.scores, digits)) for L in layouts]
    null_layouts = [L.with_scores(np.full(L.n, 0.5)) for L in layouts]
    n_windows = sum(int(L.bounds.shape[0]) for L in layouts)
    rep = ScoreReport(detector, len(layouts), sum(L.n for L in layouts), n_windows, digits)
    cats = sorted({L.category for L in layouts})
    for pname, cost in profiles.items():
        sw = sweep(layouts, cost)
        null_sw = sweep(null_layouts, cost)
        t, nt = sw.threshold, null_sw.threshold
        per = [score_series(L, cost, t) for L in layouts]
        per_null = [score_series(L, cost, nt) for L in null_layouts]
        perfect = cost.tp * n_windows
        raw = float(sum(x.raw for x in per))
        rep.profiles[pname] = ProfileScore(
            profile=pname,
            cost=cost,
            threshold=t,
            raw=raw,
            null=null_sw.score,
            perfect=perfect,
            score=normalize(raw, null_sw.score, perfect),
            tp=int(sw.tp[sw.best]),
            fp=int(sw.fp[sw.best]),
            fn=int(sw.fn[sw.best]),
            tn=int(sw.tn[sw.best]),
            windows=n_windows,
            windows_detected=sum(x.windows_detected for x in per),
            null_threshold=nt,
        )
        for x in per:
            rep.series.setdefault(x.name, {})[pname] = x
        for c in cats:
            sel = [i for i, L in enumerate(layouts) if L.category == c]
            g_raw = float(sum(per[i].raw for i in sel))
            g_null = float(sum(per_null[i].raw for i in sel))
            g_win = sum(per[i].windows for i in sel)
            g_perfect = cost.tp * g_win
            rep.categories.setdefault(c, {})[pname] = GroupScore(
                raw=g_raw,
                null=g_null,
                perfect=g_perfect,
                score=normalize(g_raw, g_null, g_perfect),
                series=len(sel),
                windows=g_win,
                windows_detected=sum(per[i].windows_detected for i in sel),
                fp=sum(per[i].fp for i in sel),
            )
    return rep


def read_result_scores(path: str | os.PathLike[str], series: _corpus.Series) -> np.ndarray:
    """Anomaly scores of a result CSV, checked row by row against the data ``series``."""
    path = Path(path)
    if not path.is_file():
        raise DataError(
            f"result file {str(path)!r} for {series.name} does not exist (run `htmkit nab run`)"
        )
    df = _corpus.read_text_csv(path, "result file", ("timestamp", "anomaly_score"))
    if len(df) != len(series):
        raise DataError(f"{path}: {len(df)} rows but {series.name} has {len(series)}")
    ts = df["timestamp"].astype(str).to_numpy(dtype=object)
    diff = np.flatnonzero(ts != series.raw_timestamps)
    if diff.size:
        i = int(diff[0])
        raise DataError(
            f"{path}: line {i + 2}: timestamp {ts[i]!r} does not match the data "
            f"({series.raw_timestamps[i]!r}); result rows must align with {series.name}"
        )
    raw = df["anomaly_score"].astype(str)
    s = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.flatnonzero(~np.isfinite(s))
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"{path}: line {i + 2}, column 'anomaly_score': not a finite number {raw.iloc[i]!r}"
        )
    return s


def load_layouts(
    detector: str,
    results_dir: str | os.PathLike[str],
    nab_dir: str | os.PathLike[str] | None = None,
    series: str | Sequence[str] | None = None,
) -> list[SeriesLayout]:
    """Read the data, windows and ``detector``'s results into scoring layouts."""
    from .runner import result_path

    root = _corpus.resolve_nab_dir(nab_dir)
    windows = _corpus.load_windows(root)
    names = _corpus.select_series(sorted(windows), series)
    if not names:
        raise DataError(f"no labelled series match {series!r}" if series else "no series")
    out = []
    for name in names:
        data = _corpus.read_series(root, name)
        bounds = _corpus.window_bounds(data, windows[name])
        scores = read_result_scores(result_path(results_dir, detector, name), data)
        out.append(layout_series(name, scores, bounds))
    return out


def score(
    detector_name: str,
    results_dir: str | os.PathLike[str] = "results/nab",
    nab_dir: str | os.PathLike[str] | None = None,
    *,
    series: str | Sequence[str] | None = None,
    profiles: Mapping[str, CostMatrix] | None = None,
    digits: int | None = None,
) -> ScoreReport:
    """Score ``detector_name``'s result files (NAB layout under ``results_dir``)."""
    layouts = load_layouts(detector_name, results_dir, nab_dir, series)
    return score_layouts(detector_name, layouts, profiles, digits)


def _fmt(x: float | None, nd: int = 1) -> str:
    return "—" if x is None else f"{x:.{nd}f}"


def render_report(report: ScoreReport, console: Any = None) -> None:
    """Print the per-profile and per-category tables with rich."""
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    rounding = f", scores rounded to {report.digits} digits" if report.digits else ""
    t = Table(
        title=f"NAB score — {report.detector} ({report.n_series} series, "
        f"{report.n_rows:,} rows, {report.n_windows} windows{rounding})",
        caption="score = 100·(raw − null)/(perfect − null); perfect = windows × A_TP",
    )
    t.add_column("profile", no_wrap=True)
    for col in ("score", "threshold", "raw", "null", "windows hit", "FP rows"):
        t.add_column(col, justify="right")
    for p in report.profiles.values():
        t.add_row(
            p.profile,
            f"[bold]{_fmt(p.score, 2)}[/bold]",
            f"{p.threshold:.14g}",
            f"{p.raw:.2f}",
            f"{p.null:.2f}",
            f"{p.windows_detected}/{p.windows}",
            f"{p.fp:,}",
        )
    console.print(t)

    pnames = list(report.profiles)
    c = Table(title="per category (normalized at the corpus thresholds)")
    c.add_column("category", no_wrap=True)
    c.add_column("series", justify="right")
    for pn in pnames:
        c.add_column(PROFILE_LABELS.get(pn, pn), justify="right")
    first = f" ({pnames[0]})" if pnames else ""
    c.add_column(f"windows hit{first}", justify="right")
    c.add_column(f"FP rows{first}", justify="right")
    for cat, per in report.categories.items():
        g0 = per[pnames[0]]
        c.add_row(
            cat or "(top level)",
            str(g0.series),
            *[_fmt(per[pn].score) for pn in pnames],
            f"{g0.windows_detected}/{g0.windows}",
            f"{g0.fp:,}",
        )
    console.print(c)
