"""Anomaly scores: the raw HTM anomaly score and Numenta's anomaly likelihood.

* :func:`raw_anomaly` — the fraction of active columns that were not predicted.
* :class:`AnomalyLikelihood` — turns a stream of raw scores into the probability that the
  current state is anomalous, following the method Numenta described and used in NuPIC and the
  Numenta Anomaly Benchmark (NAB):

  1. keep a sliding window of the last ``historic_window_size`` raw scores;
  2. during the *probationary period* (``learning_period + estimation_samples`` records) report
     a flat 0.5;
  3. every ``reestimation_period`` records fit a normal distribution to the moving averages
     (over ``averaging_window`` records) of the raw scores in the window, skipping the records
     of the learning period that are still in it. The mean is floored at :data:`MIN_MEAN` and
     the variance at :data:`MIN_VARIANCE` so that an almost perfectly predicted stream does not
     turn every small blip into an alarm; when the input *values* in the window are
     (numerically) constant the broad "null" distribution (:data:`NULL_MEAN`,
     :data:`NULL_STDEV`) is used instead;
  4. for each new record, average the raw score with the previous ones, take the Gaussian tail
     probability ``q`` of that average (``P(X >= avg)`` above the mean, mirrored below it), and
     damp runs of extreme values: when both this and the previous tail probability are in the
     red zone (``<= 1 - RED_THRESHOLD``) the value is replaced by ``1 - YELLOW_THRESHOLD``. The
     likelihood is ``1 - q``.

  :meth:`AnomalyLikelihood.compute_log_likelihood` gives the log scale NAB thresholds on.

Following NuPIC, the tail probability divides ``z`` by a rounded ``sqrt(2)`` (see
:func:`tail_probability`) so the numbers match the published detector.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .errors import FormatError, InputError, ParameterError
from .params import (
    Constraints,
    Interval,
    check_memory,
    params_from_dict,
    params_to_dict,
    validate,
)
from .sdr import SDR
from .serialization import Persistable, state_array, state_int

__all__ = [
    "raw_anomaly",
    "AnomalyLikelihoodParams",
    "AnomalyLikelihood",
    "tail_probability",
    "compute_log_likelihood",
]

#: Likelihood thresholds of NuPIC's filter (expressed as likelihoods, i.e. 1 - tail).
RED_THRESHOLD = 0.99999
YELLOW_THRESHOLD = 0.999
#: Floors applied to the fitted distribution (see the module docstring).
MIN_MEAN = 0.03
MIN_VARIANCE = 0.0003
#: Variance of the input values below which the metric counts as flat.
FLAT_VALUE_VARIANCE = 1.5e-5
#: The broad distribution used when there is nothing (or nothing sensible) to fit.
NULL_MEAN = 0.5
NULL_VARIANCE = 1e6
NULL_STDEV = 1e3

_LOG_DENOMINATOR = math.log(1.0 - 0.9999999999)


# ---------------------------------------------------------------------------- raw score
def _as_indices(x: Any, what: str) -> np.ndarray:
    if isinstance(x, SDR):
        return x.indices
    arr = np.asarray(x)
    if arr.size == 0:
        return np.empty(0, dtype=np.int64)
    if arr.ndim != 1 or arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise InputError(f"{what} must be an SDR or a 1-D array of integer indices")
    return np.unique(arr)


def raw_anomaly(active_columns: SDR, predicted_columns: SDR) -> float:
    """Fraction of the active columns that were not predicted.

    Parameters
    ----------
    active_columns : SDR
        Columns active now (an SDR, or a 1-D array of column indices).
    predicted_columns : SDR
        Columns predicted at the previous step (same kind and size as ``active_columns``).

    Returns
    -------
    float
        ``1 - |active & predicted| / |active|`` in ``[0, 1]``; zero when no column is
        active (nothing unexpected happened).

    Raises
    ------
    InputError
        If both are SDRs of different sizes, or an index array is malformed.
    """
    if isinstance(active_columns, SDR) and isinstance(predicted_columns, SDR):
        if active_columns.size != predicted_columns.size:
            raise InputError(
                f"raw_anomaly: SDR sizes differ ({active_columns.size} vs "
                f"{predicted_columns.size})"
            )
    active = _as_indices(active_columns, "active_columns")
    predicted = _as_indices(predicted_columns, "predicted_columns")
    n_active = int(active.size)
    if n_active == 0:
        return 0.0
    hits = int(np.intersect1d(active, predicted, assume_unique=True).size)
    return (n_active - hits) / n_active


# ---------------------------------------------------------------------------- helpers
def tail_probability(x: float, mean: float, stdev: float) -> float:
    """Probability of a normal sample lying further from ``mean`` than ``x`` on its side.

    ``P(X >= x)`` for ``x >= mean`` and ``P(X <= x)`` below it (NuPIC's ``tailProbability``,
    including its ``erfc(z / 1.4142)``).
    """
    z = abs(float(x) - mean) / stdev
    return 0.5 * math.erfc(z / 1.4142)


def compute_log_likelihood(likelihood: float) -> float:
    """Log-scale likelihood as NuPIC/NAB: ``log(1 + eps - L) / log(eps)`` with ``eps = 1e-10``.

    How it maps the flat probationary value, the yellow and red thresholds and 1:

    >>> [round(compute_log_likelihood(x), 2) for x in (0.5, YELLOW_THRESHOLD, RED_THRESHOLD, 1)]
    [0.03, 0.3, 0.5, 1.0]
    """
    return math.log(1.0000000001 - float(likelihood)) / _LOG_DENOMINATOR


# ---------------------------------------------------------------------------- parameters
@dataclass(frozen=True)
class AnomalyLikelihoodParams:
    """Parameters of :class:`AnomalyLikelihood` (NuPIC's defaults).

    Attributes
    ----------
    learning_period : int
        Records during which the model is still learning; their raw scores are excluded from
        the fitted distribution while they remain in the window.
    estimation_samples : int
        Records after the learning period collected before the first fit. The flat
        probationary value is returned for the first ``learning_period + estimation_samples``
        records.
    historic_window_size : int
        Number of raw scores kept for re-estimation (8640 = one month of 5-minute records).
    reestimation_period : int
        The distribution is re-fitted every this many records.
    averaging_window : int
        Number of raw scores averaged before the tail probability is taken.
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "learning_period": Interval(int, 0),
        "estimation_samples": Interval(int, 1),
        "historic_window_size": Interval(int, 1),
        "reestimation_period": Interval(int, 1),
        "averaging_window": Interval(int, 1),
    }

    learning_period: int = 288
    estimation_samples: int = 100
    historic_window_size: int = 8640
    reestimation_period: int = 100
    averaging_window: int = 10

    def __post_init__(self) -> None:
        validate(self)
        if self.historic_window_size < self.estimation_samples:
            raise ParameterError(
                f"historic_window_size ({self.historic_window_size}) must be >= "
                f"estimation_samples ({self.estimation_samples})"
            )
        check_memory("historic_window_size", str(self.historic_window_size),
                     self.estimated_bytes())

    def estimated_bytes(self) -> float:
        """Bytes a new :class:`AnomalyLikelihood` allocates (computed without allocating):
        two float64 circular buffers (raw scores and values) of ``historic_window_size``,
        and the two short lists of ``averaging_window`` recent floats (Python objects)."""
        return float(self.historic_window_size) * 2 * 8 + float(self.averaging_window) * 2 * 32

    @property
    def probationary_period(self) -> int:
        """Records for which the flat probationary value is returned:
        ``learning_period + estimation_samples``."""
        return self.learning_period + self.estimation_samples


# ---------------------------------------------------------------------------- likelihood
class AnomalyLikelihood(Persistable):
    """Online anomaly likelihood of a stream of raw anomaly scores (see module docstring).

    Parameters
    ----------
    params : AnomalyLikelihoodParams, optional
        All parameters; alternatively pass them as keyword arguments.
    **kwargs
        Fields of :class:`AnomalyLikelihoodParams` (only when ``params`` is not given).

    Examples
    --------
    >>> al = AnomalyLikelihood(learning_period=10, estimation_samples=10)
    >>> [al.update(0.1) for _ in range(3)]
    [0.5, 0.5, 0.5]
    """

    def __init__(self, params: AnomalyLikelihoodParams | None = None, **kwargs: Any):
        if params is None:
            params = AnomalyLikelihoodParams(**kwargs)
        elif kwargs:
            raise ParameterError("pass either params or keyword parameters, not both")
        elif not isinstance(params, AnomalyLikelihoodParams):
            raise ParameterError(f"params must be AnomalyLikelihoodParams, got {params!r}")
        self.params = params
        w = params.historic_window_size
        self._scores = np.zeros(w, dtype=np.float64)  # circular buffer of raw scores
        self._values = np.full(w, np.nan, dtype=np.float64)  # input values (NaN = none)
        self._head = 0  # next write position
        self._count = 0  # filled entries (<= w)
        self._iteration = 0
        # fitted distribution: (mean, variance, stdev, is_null), or None before the first fit
        self._distribution: tuple[float, float, float, bool] | None = None
        self._recent_scores: list[float] = []  # last <= averaging_window raw scores
        self._recent_tails: list[float] = []  # last <= averaging_window unfiltered tails

    # ------------------------------------------------------------------ properties
    @property
    def iteration(self) -> int:
        """Number of records seen so far."""
        return self._iteration

    @property
    def probationary_period(self) -> int:
        """Records for which the flat probationary value is returned."""
        return self.params.probationary_period

    @property
    def distribution(self) -> dict[str, Any] | None:
        """The fitted distribution (``mean``, ``variance``, ``stdev``, ``null``) or ``None``."""
        if self._distribution is None:
            return None
        mean, var, std, null = self._distribution
        return {"mean": mean, "variance": var, "stdev": std, "null": null}

    # ------------------------------------------------------------------ api
    compute_log_likelihood = staticmethod(compute_log_likelihood)

    def update(self, raw_score: float, value: Any = None, timestamp: Any = None) -> float:
        """Add one record and return its anomaly likelihood in ``[0, 1]``.

        Parameters
        ----------
        raw_score : float
            The raw anomaly score of this record, in ``[0, 1]``.
        value : float, optional
            The input value of the record. Only used to detect a flat (constant) metric, which
            is then reported as not anomalous; ``None`` or a non-numeric value disables that
            check for windows holding this record.
        timestamp : optional
            Accepted for compatibility with NuPIC's ``anomalyProbability``; not used.

        Returns
        -------
        float
            The flat probationary value (see the module docstring) during the probationary
            period, then ``1 - tail probability``.

        Raises
        ------
        InputError
            If ``raw_score`` is not a finite number in ``[0, 1]``.
        """
        del timestamp
        if isinstance(raw_score, bool) or not isinstance(raw_score, numbers.Real):
            raise InputError(f"raw_score must be a number, got {raw_score!r}")
        score = float(raw_score)
        if not (0.0 <= score <= 1.0):
            raise InputError(f"raw_score must be a finite number in [0, 1], got {raw_score!r}")
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            val = float(value)
        else:
            val = math.nan

        p = self.params
        if self._iteration < p.probationary_period:
            likelihood = 0.5
        else:
            if self._distribution is None or self._iteration % p.reestimation_period == 0:
                self._estimate()
            likelihood = 1.0 - self._next_tail(score)

        w = p.historic_window_size
        self._scores[self._head] = score
        self._values[self._head] = val
        self._head = (self._head + 1) % w
        self._count = min(self._count + 1, w)
        self._iteration += 1
        return likelihood

    # ------------------------------------------------------------------ internals
    def _window(self) -> tuple[np.ndarray, np.ndarray]:
        """Raw scores and values in the window, oldest first."""
        n, w = self._count, self.params.historic_window_size
        if n < w:
            return self._scores[:n].copy(), self._values[:n].copy()
        order = np.r_[self._head:w, 0:self._head]
        return self._scores[order], self._values[order]

    def _skip_records(self) -> int:
        """Learning-period records still in the window (excluded from the fit)."""
        p = self.params
        shifted_out = max(0, self._iteration - p.historic_window_size)
        return min(self._iteration, max(0, p.learning_period - shifted_out))

    def _estimate(self) -> None:
        p = self.params
        scores, values = self._window()
        n = scores.size
        a = p.averaging_window
        # moving averages over the last `a` scores (fewer at the start of the window)
        sums = np.convolve(scores, np.ones(a))[:n]
        averages = sums / np.minimum(np.arange(1, n + 1), a)
        skip = self._skip_records()
        if n <= skip:
            dist = (NULL_MEAN, NULL_VARIANCE, NULL_STDEV, True)
        else:
            fit = averages[skip:]
            mean = max(float(np.mean(fit)), MIN_MEAN)
            var = max(float(np.var(fit)), MIN_VARIANCE)
            dist = (mean, var, math.sqrt(var), False)
            if not np.isnan(values).any() and float(np.var(values[skip:])) < FLAT_VALUE_VARIANCE:
                dist = (NULL_MEAN, NULL_VARIANCE, NULL_STDEV, True)
        self._distribution = dist
        k = min(a, n)
        self._recent_scores = [float(s) for s in scores[n - k:]]
        self._recent_tails = [tail_probability(x, dist[0], dist[2]) for x in averages[n - k:]]

    def _next_tail(self, score: float) -> float:
        """Moving average with ``score``, its tail probability, and NuPIC's red-zone filter."""
        a = self.params.averaging_window
        recent = self._recent_scores
        recent.append(score)
        if len(recent) > a:
            del recent[0]
        average = math.fsum(recent) / len(recent)
        mean, _, stdev, _ = self._distribution  # type: ignore[misc]
        tail = tail_probability(average, mean, stdev)
        red = 1.0 - RED_THRESHOLD
        tails = self._recent_tails
        if tails and tail <= red and tails[-1] <= red:
            filtered = 1.0 - YELLOW_THRESHOLD
        else:
            filtered = tail
        tails.append(tail)
        if len(tails) > a:
            del tails[0]
        return filtered

    # ------------------------------------------------------------------ state
    def get_state(self) -> dict[str, Any]:
        scores, values = self._window()
        return {
            "params": params_to_dict(self.params),
            "iteration": self._iteration,
            "scores": scores,
            "values": values,
            "distribution": None if self._distribution is None else list(self._distribution),
            "recent_scores": np.array(self._recent_scores, dtype=np.float64),
            "recent_tails": np.array(self._recent_tails, dtype=np.float64),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> AnomalyLikelihood:
        where = "AnomalyLikelihood"
        params = params_from_dict(AnomalyLikelihoodParams, state["params"])
        w = params.historic_window_size
        scores = state_array(state, "scores", np.float64, where, ndim=1)
        values = state_array(state, "values", np.float64, where, ndim=1)
        n = scores.size
        if values.size != n or n > w:
            raise FormatError(f"{where}: arrays 'scores' and 'values' have inconsistent sizes")
        iteration = state_int(state, "iteration", where, lo=0)
        recent_scores = state_array(state, "recent_scores", np.float64, where, ndim=1)
        recent_tails = state_array(state, "recent_tails", np.float64, where, ndim=1)
        if max(recent_scores.size, recent_tails.size) > params.averaging_window:
            raise FormatError(f"{where}: more recent scores than averaging_window")
        dist = state["distribution"]
        if dist is not None and (not isinstance(dist, (list, tuple)) or len(dist) != 4):
            raise FormatError(f"{where}: field 'distribution' is malformed")
        obj = cls(params)
        obj._scores[:n] = scores
        obj._values[:n] = values
        obj._count = n
        obj._head = n % w
        obj._iteration = iteration
        if dist is not None:
            mean, var, std, null = dist
            obj._distribution = (float(mean), float(var), float(std), bool(null))
        obj._recent_scores = [float(x) for x in recent_scores]
        obj._recent_tails = [float(x) for x in recent_tails]
        return obj

    def __repr__(self) -> str:
        return f"AnomalyLikelihood(iteration={self._iteration}, params={self.params})"
