"""River's streaming anomaly detectors as NAB baselines (``pip install 'htmkit[river]'``).

Three of River's detectors, wrapped in the NAB detector protocol
(:mod:`htmkit.nab.detectors`: ``update(timestamp, value) -> score``) and registered as
``river-hst``, ``river-pad`` and ``river-gaussian``:

``river-hst``
    ``river.anomaly.HalfSpaceTrees``: an online isolation forest over the value, scaled to
    ``[0, 1]`` with the series' minimum and maximum (what NAB hands every detector, and what
    htmkit's detector gets; HST assumes features in ``[0, 1]``). River's defaults (10 trees of
    height 8, a window of 250 records), seeded with the run's seed. It sees the value alone, not
    the time.
``river-pad``
    ``river.anomaly.PredictiveAnomalyDetection``: a one-step forecast by River's ``SNARIMAX``
    (``p=2, d=1, q=1`` on the scaled value, its default regressor) and a score that grows with the
    squared forecast error relative to a running threshold (mean + 3 standard deviations of the
    squared errors). Its warm-up (score 0, errors not yet counted) is the first half of NAB's
    probationary period, the share htmkit's likelihood spends learning.

``river-gaussian``
    ``river.anomaly.GaussianScorer``: the value's two-sided tail under a Gaussian fitted to
    every value seen so far (River's defaults: no window, 100 records of grace with score 0),
    twice the distance of its CDF from one half. Close to NAB's own ``windowed_gaussian``
    baseline, which fits a sliding window instead.

All follow River's prequential order for each record: ``score_one`` first, then
``learn_one``. None was tuned on NAB. River is imported when a detector is built, not when
this module is imported.
"""

from __future__ import annotations

from typing import Any

from .detectors import BaseDetector, DetectorUnavailableError


def _river() -> Any:
    try:
        import river.anomaly
        import river.time_series
    except ImportError as exc:
        raise DetectorUnavailableError(
            f"the River baselines need River: pip install 'htmkit[river]' ({exc})") from None
    return river


class _ScaledRiverDetector(BaseDetector):
    """The value scaled to ``[0, 1]`` with the series' range (a flat series maps to 0)."""

    def _scale(self, value: float) -> float:
        span = self.max_value - self.min_value
        return (float(value) - self.min_value) / span if span > 0 else 0.0


class RiverHalfSpaceTrees(_ScaledRiverDetector):
    """``river-hst``: River's ``HalfSpaceTrees`` on the scaled value (module docstring)."""

    name = "river-hst"

    def __init__(self, *, n_trees: int = 10, height: int = 8, window_size: int = 250,
                 **kw: Any) -> None:
        super().__init__(**kw)
        river = _river()
        self._model = river.anomaly.HalfSpaceTrees(n_trees=n_trees, height=height,
                                                   window_size=window_size, seed=self.seed)

    def update(self, timestamp: Any, value: float) -> float:
        x = {"value": self._scale(value)}
        score = float(self._model.score_one(x))
        self._model.learn_one(x)
        return score


class RiverGaussian(_ScaledRiverDetector):
    """``river-gaussian``: River's ``GaussianScorer`` (module docstring)."""

    name = "river-gaussian"

    def __init__(self, *, window_size: int | None = None, grace_period: int = 100,
                 **kw: Any) -> None:
        super().__init__(**kw)
        river = _river()
        self._model = river.anomaly.GaussianScorer(window_size=window_size,
                                                   grace_period=grace_period)

    def update(self, timestamp: Any, value: float) -> float:
        y = self._scale(value)
        score = float(self._model.score_one(None, y))
        self._model.learn_one(None, y)
        return score


class RiverPredictive(_ScaledRiverDetector):
    """``river-pad``: River's ``PredictiveAnomalyDetection`` around ``SNARIMAX`` (module
    docstring)."""

    name = "river-pad"

    def __init__(self, *, p: int = 2, d: int = 1, q: int = 1, n_std: float = 3.0,
                 **kw: Any) -> None:
        super().__init__(**kw)
        river = _river()
        self._model = river.anomaly.PredictiveAnomalyDetection(
            river.time_series.SNARIMAX(p=p, d=d, q=q), horizon=1, n_std=n_std,
            warmup_period=self.probationary_period // 2)

    def update(self, timestamp: Any, value: float) -> float:
        y = self._scale(value)
        score = float(self._model.score_one(None, y))
        self._model.learn_one(None, y)
        return score
