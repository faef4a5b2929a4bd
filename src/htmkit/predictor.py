"""The SDR classifier: predict classes (or scalar buckets) several steps ahead from an SDR.

:class:`Predictor` is an online softmax regression, as in NuPIC's ``SDRClassifier`` and
htm.core's ``Predictor``: for every prediction step ``k`` it keeps a weight matrix
``[input_size, n_classes]``; the class probabilities of a pattern are the softmax of the summed
weight rows of its active bits, and learning moves those rows by
``alpha * (target - probabilities)``. For step ``k`` the pattern seen ``k`` records ago is
associated with the label given now, so ``infer(pattern)[k]`` is the distribution of the label
``k`` records after ``pattern``. Step 0 makes it a plain classifier of the current record.

:class:`ScalarBuckets` maps scalar values to class indices (buckets) and back, and
:class:`ScalarPredictor` combines the two for predicting a numeric field.
"""

from __future__ import annotations

import math
import numbers
from collections import deque
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .errors import FormatError, InputError, InputTypeError
from .params import (
    Constraints,
    Interval,
    IntSequence,
    Optional,
    check_float,
    check_memory,
    params_from_dict,
    params_to_dict,
    validate,
)
from .sdr import SDR
from .serialization import Persistable, state_array, state_int

__all__ = [
    "PredictorParams",
    "Predictor",
    "ScalarBuckets",
    "ScalarPrediction",
    "ScalarPredictor",
]

_MIN_CAPACITY = 16  # classes allocated up front; grows by doubling


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


# ---------------------------------------------------------------------------- parameters
@dataclass(frozen=True)
class PredictorParams:
    """Parameters of :class:`Predictor`.

    Attributes
    ----------
    steps : tuple of int
        Prediction horizons (records ahead), each ``>= 0``, without duplicates; stored sorted.
        A single int is accepted.
    alpha : float
        Learning rate in ``(0, 1]``. NuPIC's default 0.001 suits large inputs (thousands of
        cells, tens active); smaller inputs learn faster with a larger rate.
    max_classes : int or None
        Optional upper bound on the number of classes; a label ``>= max_classes`` is an
        :class:`~htmkit.errors.InputError`. ``None``: the weights grow without bound.
    input_size : int or None
        Size of the input SDRs. ``None``: fixed by the first pattern learned.
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "steps": IntSequence(0, None, min_length=1, unique=True, sort=True),
        "alpha": Interval(float, 0.0, 1.0, closed="right"),
        "max_classes": Optional(Interval(int, 1)),
        "input_size": Optional(Interval(int, 1)),
    }

    steps: tuple[int, ...] = (1,)
    alpha: float = 0.001
    max_classes: int | None = None
    input_size: int | None = None

    def __post_init__(self) -> None:
        validate(self)
        if self.input_size is not None:
            check_memory("input_size, steps and max_classes",
                         f"{self.input_size}, {self.steps} and {self.max_classes}",
                         self.estimated_bytes())

    def estimated_bytes(self, n_classes: int | None = None) -> float:
        """Bytes of the float32 weights ``[len(steps), input_size, classes]`` for
        ``n_classes`` classes (default: ``max_classes``, or the first allocation when it is
        ``None``); 0 while ``input_size`` is unknown."""
        if self.input_size is None:
            return 0.0
        if n_classes is None:
            n_classes = self.max_classes if self.max_classes is not None else _MIN_CAPACITY
        return float(len(self.steps)) * float(self.input_size) * float(n_classes) * 4


# ---------------------------------------------------------------------------- predictor
class Predictor(Persistable):
    """Online multi-step SDR classifier (softmax regression on the active bits).

    Parameters
    ----------
    steps : int or sequence of int
        Prediction horizons, e.g. ``(1, 5)``.
    alpha : float
        Learning rate.
    max_classes : int, optional
        Upper bound on the class count (default: unbounded, grows with the largest label).
    input_size : int, optional
        Input SDR size (default: taken from the first learned pattern).

    Weights are ``float32`` arrays ``[input_size, n_classes]`` per step, initialised to zero
    (no randomness, so there is no seed); probabilities are computed in ``float64``.

    Examples
    --------
    >>> p = Predictor(steps=(0,), alpha=0.5)
    >>> for _ in range(20):
    ...     p.learn(SDR(10, [1, 2]), 3)
    >>> int(p.infer(SDR(10, [1, 2]))[0].argmax())
    3
    """

    def __init__(
        self,
        steps: int | tuple[int, ...] = (1,),
        alpha: float = 0.001,
        *,
        max_classes: int | None = None,
        input_size: int | None = None,
    ):
        self.params = PredictorParams(
            steps=steps,  # type: ignore[arg-type]  # an int is normalised to a tuple
            alpha=alpha, max_classes=max_classes, input_size=input_size
        )
        self._input_size: int | None = self.params.input_size
        self._n_classes = 0
        self._weights: np.ndarray | None = None  # [n_steps, input_size, capacity] float32
        self._history: deque[np.ndarray] = deque(maxlen=max(self.params.steps) + 1)

    # ------------------------------------------------------------------ properties
    @property
    def steps(self) -> tuple[int, ...]:
        """Prediction horizons, sorted."""
        return self.params.steps

    @property
    def alpha(self) -> float:
        return self.params.alpha

    @property
    def input_size(self) -> int | None:
        """Input SDR size, or ``None`` until the first pattern is learned."""
        return self._input_size

    @property
    def n_classes(self) -> int:
        """Number of classes: one more than the largest label learned so far."""
        return self._n_classes

    def weights(self, step: int) -> np.ndarray:
        """A read-only view of the ``[input_size, n_classes]`` weights of one step."""
        si = self._step_index(step)
        if self._weights is None:
            out = np.zeros((self._input_size or 0, 0), dtype=np.float32)
        else:
            out = self._weights[si, :, : self._n_classes]
        out = out.view()
        out.flags.writeable = False
        return out

    # ------------------------------------------------------------------ validation
    def _step_index(self, step: int) -> int:
        try:
            return self.params.steps.index(step)
        except ValueError:
            raise InputError(f"step {step!r} is not one of {self.params.steps}") from None

    def _check_pattern(self, pattern: SDR) -> np.ndarray:
        if not isinstance(pattern, SDR):
            raise InputTypeError(f"pattern must be an SDR, got {type(pattern).__name__}")
        if self._input_size is not None and pattern.size != self._input_size:
            raise InputError(
                f"pattern has size {pattern.size}, but this predictor's input size is "
                f"{self._input_size}"
            )
        return pattern.indices

    def _check_label(self, label: Any) -> np.ndarray | None:
        """Labels as a sorted unique int64 array, or ``None`` for "nothing to learn"."""
        if label is None:
            return None
        items: list[Any] | tuple[Any, ...]
        if _is_int(label):
            items = [label]
        elif isinstance(label, (list, tuple, np.ndarray)):
            items = list(np.asarray(label).ravel()) if isinstance(label, np.ndarray) else label
            if not all(_is_int(x) for x in items):
                raise InputError(f"labels must be integers, got {label!r}")
        else:
            raise InputError(f"label must be an int or a list of ints, got {label!r}")
        if not items:
            return None
        arr = np.unique(np.asarray([int(x) for x in items], dtype=np.int64))
        if arr[0] < 0:
            raise InputError(f"labels must be >= 0, got {int(arr[0])}")
        mc = self.params.max_classes
        if mc is not None and arr[-1] >= mc:
            raise InputError(f"label {int(arr[-1])} exceeds max_classes={mc}")
        return arr

    # ------------------------------------------------------------------ growth
    def _ensure_classes(self, n: int) -> None:
        assert self._input_size is not None
        mc = self.params.max_classes
        if self._weights is None:
            cap = max(n, _MIN_CAPACITY)
            if mc is not None:
                cap = min(cap, mc)
            nbytes = float(len(self.params.steps)) * float(self._input_size) * float(cap) * 4
            check_memory("the largest label (classes)", str(n - 1), nbytes)
            self._weights = np.zeros(
                (len(self.params.steps), self._input_size, cap), dtype=np.float32
            )
        elif n > self._weights.shape[2]:
            cap = max(n, 2 * self._weights.shape[2])
            if mc is not None:
                cap = min(cap, mc)
            nbytes = float(len(self.params.steps)) * float(self._input_size) * float(cap) * 4
            check_memory("the largest label (classes)", str(n - 1), nbytes)
            grown = np.zeros(self._weights.shape[:2] + (cap,), dtype=np.float32)
            grown[:, :, : self._n_classes] = self._weights[:, :, : self._n_classes]
            self._weights = grown
        self._n_classes = max(self._n_classes, n)

    # ------------------------------------------------------------------ api
    def learn(self, pattern: SDR, label: int | list[int] | None) -> None:
        """Add ``pattern`` to the history and learn ``label`` for every step.

        For each step ``k`` the pattern seen ``k`` calls ago (this one for ``k = 0``) is moved
        towards ``label``; steps reaching back before the start (or the last :meth:`reset`) are
        skipped.

        Parameters
        ----------
        pattern : SDR
            The active cells of the current record.
        label : int, list of int, or None
            Class index (bucket) of the current record, ``>= 0``; several classes share the
            target probability equally. ``None`` or an empty list only records the pattern
            (keeps the history aligned when the label is missing).

        Raises
        ------
        TypeError
            If ``pattern`` is not an SDR.
        InputError
            Wrong pattern size; a negative, non-integer or too large (``max_classes``) label.
            The predictor is unchanged when an error is raised.
        """
        idx = self._check_pattern(pattern)
        labels = self._check_label(label)
        if self._input_size is None:
            self._input_size = pattern.size
        self._history.append(idx)
        if labels is None:
            return
        self._ensure_classes(int(labels[-1]) + 1)
        n = self._n_classes
        target = np.zeros(n, dtype=np.float64)
        target[labels] = 1.0 / labels.size
        alpha = self.params.alpha
        hist = self._history
        w_all = self._weights
        assert w_all is not None
        for si, k in enumerate(self.params.steps):
            if k >= len(hist):
                continue
            rows = hist[-1 - k]
            if rows.size == 0:
                continue
            w = w_all[si]
            block = w[rows, :n]
            prob = _softmax(block.sum(axis=0, dtype=np.float64))
            w[rows, :n] = block + (alpha * (target - prob)).astype(np.float32)

    def infer(self, pattern: SDR) -> dict[int, np.ndarray]:
        """Class probabilities for each step: ``{step: ndarray of length n_classes}``.

        The arrays are new ``float64`` arrays summing to 1 (uniform for a pattern with no
        learned weights); they are empty while no label has been learned.

        Raises
        ------
        TypeError, InputError
            As for :meth:`learn`.
        """
        idx = self._check_pattern(pattern)
        n = self._n_classes
        if self._weights is None or n == 0:
            return {k: np.zeros(0, dtype=np.float64) for k in self.params.steps}
        out = {}
        for si, k in enumerate(self.params.steps):
            act = self._weights[si][idx, :n].sum(axis=0, dtype=np.float64)
            out[k] = _softmax(act)
        return out

    def reset(self) -> None:
        """Forget the pattern history (call at a sequence boundary); weights are kept."""
        self._history.clear()

    # ------------------------------------------------------------------ state
    def get_state(self) -> dict[str, Any]:
        hist = list(self._history)
        lengths = np.array([h.size for h in hist], dtype=np.int64)
        flat = np.concatenate(hist).astype(np.int64) if hist else np.zeros(0, dtype=np.int64)
        weights = None
        if self._weights is not None:
            weights = np.ascontiguousarray(self._weights[:, :, : self._n_classes])
        return {
            "params": params_to_dict(self.params),
            "input_size": self._input_size,
            "n_classes": self._n_classes,
            "weights": weights,
            "history_indices": flat,
            "history_lengths": lengths,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Predictor:
        p = params_from_dict(PredictorParams, state["params"])
        obj = cls(p.steps, p.alpha, max_classes=p.max_classes, input_size=p.input_size)
        where = "Predictor"
        size = state["input_size"]
        obj._input_size = None if size is None else state_int(state, "input_size", where,
                                                               lo=1)
        obj._n_classes = state_int(state, "n_classes", where, lo=0)
        w = state["weights"]
        if w is not None:
            w = state_array(state, "weights", np.float32, where, ndim=3)
            if w.shape != (len(p.steps), obj._input_size, obj._n_classes):
                raise FormatError(f"{where}: array 'weights' has shape {w.shape}, "
                                  "inconsistent with the state")
            obj._weights = w
        lengths = state_array(state, "history_lengths", np.int64, where, ndim=1, lo=0)
        flat = state_array(state, "history_indices", np.int64, where, ndim=1, lo=0,
                           hi=(obj._input_size or 0) - 1)
        if int(lengths.sum()) != flat.size:
            raise FormatError(f"{where}: history_lengths do not add up to history_indices")
        dtype = np.int32 if (obj._input_size or 0) < 2**31 else np.int64
        for part in np.split(flat, np.cumsum(lengths)[:-1]) if lengths.size else []:
            a = part.astype(dtype)
            a.flags.writeable = False
            obj._history.append(a)
        return obj

    def __repr__(self) -> str:
        return (
            f"Predictor(steps={self.params.steps}, alpha={self.params.alpha}, "
            f"input_size={self._input_size}, n_classes={self._n_classes})"
        )


# ---------------------------------------------------------------------------- buckets
class ScalarBuckets(Persistable):
    """Two-way mapping between scalar values and dense class indices (buckets).

    A value falls in the grid cell ``g = floor((value - offset) / resolution + 0.5)`` (round
    half up). Grid cells get bucket ids ``0, 1, 2, ...`` in the order they are first observed,
    so any real value (also below ``offset``) maps to a non-negative class index and the
    predictor's weights hold only cells that occur. Each bucket remembers a running average of
    the actual values seen in it, like NuPIC's "actual values":
    ``v <- (1 - value_alpha) * v + value_alpha * value`` (the first value is taken as is).

    Parameters
    ----------
    resolution : float
        Width of a grid cell, ``> 0``.
    offset : float
        Value at the centre of grid cell 0.
    value_alpha : float
        Rate of the running average of actual values, in ``(0, 1]``.
    """

    def __init__(self, resolution: float, offset: float = 0.0, value_alpha: float = 0.3):
        self.resolution = check_float("resolution", resolution, low=0.0, low_open=True)
        self.offset = check_float("offset", offset)
        self.value_alpha = check_float("value_alpha", value_alpha, low=0.0, high=1.0,
                                       low_open=True)
        self._ids: dict[int, int] = {}
        self._grid: list[int] = []
        self._values: list[float] = []

    @property
    def num_buckets(self) -> int:
        return len(self._grid)

    @property
    def values(self) -> np.ndarray:
        """Running-average value of each bucket (a new ``float64`` array)."""
        return np.array(self._values, dtype=np.float64)

    @property
    def grid(self) -> np.ndarray:
        """Grid cell of each bucket (a new ``int64`` array)."""
        return np.array(self._grid, dtype=np.int64)

    def _finite(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise InputError(f"value must be a number, got {value!r}")
        v = float(value)
        if not math.isfinite(v):
            raise InputError(f"value must be finite, got {value!r}")
        return v

    def grid_index(self, value: float) -> int:
        """Grid cell of ``value``: ``floor((value - offset) / resolution + 0.5)``."""
        g = math.floor((self._finite(value) - self.offset) / self.resolution + 0.5)
        if abs(g) >= 2**62:
            raise InputError(f"value {value!r} is too far from offset for this resolution")
        return int(g)

    def bucket(self, value: float) -> int | None:
        """Bucket id of ``value``'s grid cell, or ``None`` if that cell was never observed."""
        return self._ids.get(self.grid_index(value))

    def observe(self, value: float) -> int:
        """Bucket id of ``value`` (created if new); updates the bucket's running value."""
        v = self._finite(value)
        g = self.grid_index(v)
        b = self._ids.get(g)
        if b is None:
            b = len(self._grid)
            self._ids[g] = b
            self._grid.append(g)
            self._values.append(v)
        else:
            a = self.value_alpha
            self._values[b] = (1.0 - a) * self._values[b] + a * v
        return b

    def value_of(self, bucket: int) -> float:
        """Running-average value of a bucket."""
        if not _is_int(bucket) or not 0 <= bucket < len(self._values):
            raise InputError(f"no bucket {bucket!r} (have {len(self._values)})")
        return self._values[int(bucket)]

    def predict_value(self, probabilities: Any, method: str = "mode") -> float:
        """A value from class probabilities over the buckets.

        ``method="mode"``: the value of the most likely bucket; ``"mean"``: the expected value
        ``sum(p * v) / sum(p)``. Entries beyond :attr:`num_buckets` are ignored. ``nan`` when
        there is nothing to predict from (no buckets, empty or all-zero probabilities).
        """
        if method not in ("mode", "mean"):
            raise InputError(f"method must be 'mode' or 'mean', got {method!r}")
        p = np.asarray(probabilities, dtype=np.float64).ravel()
        m = min(p.size, len(self._values))
        if m == 0:
            return math.nan
        p = p[:m]
        total = float(p.sum())
        if not total > 0.0:
            return math.nan
        vals = np.asarray(self._values[:m], dtype=np.float64)
        if method == "mode":
            return float(vals[int(np.argmax(p))])
        return float(np.dot(p, vals) / total)

    def get_state(self) -> dict[str, Any]:
        return {
            "resolution": self.resolution,
            "offset": self.offset,
            "value_alpha": self.value_alpha,
            "grid": self.grid,
            "values": self.values,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ScalarBuckets:
        obj = cls(state["resolution"], state["offset"], state["value_alpha"])
        grid = [int(g) for g in np.asarray(state["grid"], dtype=np.int64)]
        values = [float(v) for v in np.asarray(state["values"], dtype=np.float64)]
        if len(grid) != len(values) or len(set(grid)) != len(grid):
            raise TypeError("bucket arrays are inconsistent")
        obj._grid, obj._values = grid, values
        obj._ids = {g: i for i, g in enumerate(grid)}
        return obj

    def __repr__(self) -> str:
        return (
            f"ScalarBuckets(resolution={self.resolution}, offset={self.offset}, "
            f"num_buckets={self.num_buckets})"
        )


# ---------------------------------------------------------------------------- scalar
@dataclass(frozen=True)
class ScalarPrediction:
    """Prediction of a scalar field for one step.

    Attributes
    ----------
    value : float
        Value of the most likely bucket (``nan`` before anything was learned).
    mean : float
        Expected value over the buckets' values.
    bucket : int
        Most likely bucket id (``-1`` before anything was learned).
    confidence : float
        Probability of that bucket (0 before anything was learned).
    probabilities : ndarray
        Probabilities of all buckets.
    """

    value: float
    mean: float
    bucket: int
    confidence: float
    probabilities: np.ndarray = field(repr=False)


class ScalarPredictor(Persistable):
    """Predict a numeric field several steps ahead: :class:`Predictor` + :class:`ScalarBuckets`.

    Parameters
    ----------
    steps, alpha, max_classes, input_size
        As for :class:`Predictor` (``max_classes`` bounds the number of buckets).
    resolution, offset, value_alpha
        As for :class:`ScalarBuckets`.

    ``learn(pattern, value)`` with ``value`` ``None`` or NaN records the pattern in the history
    but learns nothing (a missing value); ``inf`` raises :class:`~htmkit.errors.InputError`.
    """

    def __init__(
        self,
        steps: int | tuple[int, ...] = (1,),
        resolution: float = 1.0,
        alpha: float = 0.001,
        *,
        offset: float = 0.0,
        value_alpha: float = 0.3,
        max_classes: int | None = None,
        input_size: int | None = None,
    ):
        self.predictor = Predictor(steps, alpha, max_classes=max_classes, input_size=input_size)
        self.buckets = ScalarBuckets(resolution, offset, value_alpha)

    @property
    def steps(self) -> tuple[int, ...]:
        return self.predictor.steps

    def learn(self, pattern: SDR, value: float | None) -> None:
        """Record ``pattern`` and learn ``value`` (see class docstring for missing values)."""
        self.predictor._check_pattern(pattern)
        if value is None or (isinstance(value, numbers.Real) and not isinstance(value, bool)
                             and math.isnan(value)):
            self.predictor.learn(pattern, None)
            return
        b = self.buckets.bucket(value)  # validates the value
        mc = self.predictor.params.max_classes
        if b is None and mc is not None and self.buckets.num_buckets >= mc:
            raise InputError(f"value {value!r} needs a new bucket beyond max_classes={mc}")
        b = self.buckets.observe(value)
        self.predictor.learn(pattern, b)

    def infer(self, pattern: SDR) -> dict[int, ScalarPrediction]:
        """``{step: ScalarPrediction}`` for ``pattern``."""
        out = {}
        for k, p in self.predictor.infer(pattern).items():
            if p.size == 0:
                out[k] = ScalarPrediction(math.nan, math.nan, -1, 0.0, p)
                continue
            b = int(np.argmax(p))
            out[k] = ScalarPrediction(
                value=self.buckets.predict_value(p, "mode"),
                mean=self.buckets.predict_value(p, "mean"),
                bucket=b,
                confidence=float(p[b]),
                probabilities=p,
            )
        return out

    def reset(self) -> None:
        """Forget the pattern history (sequence boundary)."""
        self.predictor.reset()

    def get_state(self) -> dict[str, Any]:
        return {"predictor": self.predictor.get_state(), "buckets": self.buckets.get_state()}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> ScalarPredictor:
        obj = cls.__new__(cls)
        obj.predictor = Predictor.from_state(state["predictor"])
        obj.buckets = ScalarBuckets.from_state(state["buckets"])
        return obj

    def __repr__(self) -> str:
        return f"ScalarPredictor({self.predictor!r}, {self.buckets!r})"
