"""The anomaly picture shared by ``htmkit demo`` (``stream.png``), ``htmkit run --plot`` and
``htmkit anomaly --plot``.

One figure, two panels on a shared x axis (timestamps, or the file's line numbers):

* top: the value series (with any predictions), the **flagged records** (score at or above the
  threshold after the probationary period) as red dots, and the **probationary period** shaded;
* bottom: the anomaly score on the log-likelihood scale NAB uses
  (:func:`~htmkit.anomaly.compute_log_likelihood`: 0..1, where one half stands for the
  likelihood's red threshold, :data:`~htmkit.anomaly.RED_THRESHOLD`), the threshold as a
  dashed line with its value in the legend, the flagged records again as red dots and the
  same shaded probationary period. Ticks on the right give the likelihood each score stands
  for.

matplotlib is imported inside the functions (the ``viz`` extra).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

#: The alarm threshold on the log-likelihood scale when none is given (the likelihood's red
#: threshold, :data:`htmkit.anomaly.RED_THRESHOLD`, maps to it).
DEFAULT_THRESHOLD = 0.5

#: colours of the picture
FLAG_COLOUR = "tab:red"
PROBATION_COLOUR = "0.85"


def flagged_records(scores: Any, threshold: float, probation: int) -> np.ndarray:
    """Boolean mask of the flagged records: ``score >= threshold`` and not within the first
    ``probation`` records (no alarm counts during the probationary period)."""
    s = np.asarray(scores, dtype=float)
    return (s >= threshold) & (np.arange(s.size) >= probation)


def plot_anomalies(
    x: Any,
    values: Any,
    scores: Any,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    probation: int = 0,
    predictions: dict[str, Any] | None = None,
    known: Any = None,
    title: str = "",
    path: Path | str | None = None,
    dpi: int = 110,
) -> Any:
    """Draw (and with ``path``, write) the anomaly picture; return the matplotlib ``Figure``.

    Parameters
    ----------
    x : array-like
        Position of each record: timestamps or line numbers.
    values : array-like
        The value series.
    scores : array-like
        The anomaly score of each record on the log-likelihood scale (0..1).
    threshold : float
        Records scoring at or above it after the probationary period are flagged.
    probation : int
        The probationary period: the first ``probation`` records, during which no alarm
        counts; shaded on both panels.
    predictions : dict of str to array-like, optional
        Curves drawn under the values, by legend label (already aligned with ``x``).
    known : array-like of int, optional
        Indices of records known to start an anomaly (an example's injected ones): dotted
        vertical lines on both panels.
    title : str
        Figure title (the flagged count, threshold and probation are added to it).
    path : path-like, optional
        Write the figure here (its folder is created); the image type follows the suffix.
    dpi : int
        Resolution of the written image.

    Returns
    -------
    matplotlib.figure.Figure
        ``fig.axes[0]`` is the value panel, ``fig.axes[1]`` the score panel; the flagged
        records are the one scatter (``PathCollection``) of each panel.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from ..anomaly import compute_log_likelihood

    xs = np.asarray(x)
    v = np.asarray(values, dtype=float)
    s = np.asarray(scores, dtype=float)
    n = v.size
    if xs.shape != (n,) or s.shape != (n,):
        raise ValueError(f"x, values and scores must have one entry per record: got "
                         f"{xs.shape}, {v.shape}, {s.shape}")
    probation = max(0, int(probation))
    hit = flagged_records(s, threshold, probation)

    fig = Figure(figsize=(12, 6))
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    if probation > 0 and n > 0:
        end = xs[probation] if probation < n else xs[-1]
        for ax in (ax1, ax2):
            ax.axvspan(xs[0], end, color=PROBATION_COLOUR, zorder=0,
                       label=f"probationary period ({min(probation, n)} records)"
                       if ax is ax1 else None)
    for i, k in enumerate(np.asarray(known if known is not None else [], dtype=int)):
        for ax in (ax1, ax2):
            ax.axvline(xs[k], ls=":", lw=1.0, color="tab:green", zorder=1,
                       label="known anomaly" if ax is ax1 and i == 0 else None)
    for label, curve in (predictions or {}).items():
        ax1.plot(xs, np.asarray(curve, dtype=float), lw=0.7, alpha=0.6, zorder=1, label=label)
    ax1.plot(xs, v, lw=0.8, color="black", zorder=2, label="value")
    n_hit = int(hit.sum())
    records = "record" if n_hit == 1 else "records"
    ax1.scatter(xs[hit], v[hit], s=28, color=FLAG_COLOUR, edgecolors="white", linewidths=0.5,
                zorder=3, label=f"flagged ({n_hit} {records}, score >= {threshold:g})")
    ax1.set_ylabel("value")
    ax1.legend(loc="upper left", fontsize=8)
    head = f"{title}: " if title else ""
    ax1.set_title(f"{head}{n_hit} flagged {records} (score >= {threshold:g}); first "
                  f"{probation} records probationary")

    ax2.plot(xs, s, lw=0.8, color="tab:blue", label="anomaly score (log likelihood)")
    ax2.axhline(threshold, ls="--", lw=1.0, color=FLAG_COLOUR,
                label=f"threshold {threshold:g}")
    ax2.scatter(xs[hit], s[hit], s=14, color=FLAG_COLOUR, zorder=3)
    ax2.set_ylim(-0.02, 1.02)
    ax2.set_ylabel("log-likelihood score\n(NAB scale, 0..1)")
    ax2.set_xlabel("time" if _is_time(xs) else "line")
    ax2.legend(loc="upper left", fontsize=8)
    right = ax2.twinx()
    right.set_ylim(ax2.get_ylim())
    levels = (0.5, 0.99, 0.999, 0.99999, 0.9999999, 0.999999999)
    right.set_yticks([compute_log_likelihood(q) for q in levels])
    right.set_yticklabels([f"{q:.10g}" for q in levels], fontsize=7)
    right.set_ylabel("likelihood", fontsize=8)
    fig.tight_layout()
    if path is not None:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(p, dpi=dpi)
    return fig


def _is_time(xs: np.ndarray) -> bool:
    """Whether the positions are times (datetime64, or datetime objects such as pandas'
    time-zone-aware timestamps)."""
    import datetime

    if np.issubdtype(xs.dtype, np.datetime64):
        return True
    return xs.dtype == object and xs.size > 0 and isinstance(xs[0], datetime.datetime)
