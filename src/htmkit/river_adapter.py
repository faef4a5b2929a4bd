"""htmkit's :class:`~htmkit.detector.AnomalyDetector` with River's anomaly-detector protocol.

``HTMAnomalyDetector`` is a ``river.base.AnomalyDetector``: it has ``learn_one(x)`` and
``score_one(x)``, where ``x`` is a dict of features, so it drops into River pipelines
(``preprocessing.MinMaxScaler() | HTMAnomalyDetector(...)``), River's ``evaluate`` helpers and
its anomaly filters. River is an optional dependency (``pip install htmkit[river]``): this module
imports it only when the class is first used, so ``import htmkit`` never loads it; without River
installed, ``from htmkit.river_adapter import HTMAnomalyDetector`` raises
:class:`RiverUnavailableError` (an ``ImportError``).

How ``learn_one`` / ``score_one`` map onto one HTM step
-------------------------------------------------------
htmkit's detector has one verb, ``update(timestamp, value) -> score``: it encodes the record,
runs the Spatial Pooler and the Temporal Memory with learning, and returns the anomaly score
(the log-likelihood score in ``[0, 1]``, see :class:`~htmkit.detector.AnomalyDetector`). That
is *one HTM step*, and the score of a record only exists as a by-product of that step: the raw
anomaly compares the record's active columns with what the previous step predicted, and the
likelihood, spatial check and refractory period all move with it. River splits the same thing
in two, and this adapter maps the halves like this:

* ``learn_one(x)`` advances the model by one step on ``x``.
* ``score_one(x)`` returns the score that step *would* give and leaves the model as it was
  (its saved bytes do not change): it is :meth:`AnomalyDetector.score
  <htmkit.detector.AnomalyDetector.score>`, one inference step (``learn=False``) on a trial
  copy that shares the learned synapses with the model and copies only the per-step state.
  The score of a step does not depend on whether it learns, so it is the score ``learn_one(x)``
  gives. ``score_one`` on the same record twice returns the cached score.

The usual River loop ``score = model.score_one(x); model.learn_one(x)`` therefore runs two HTM
steps per record, an inference step and a learning step, and its scores equal
``AnomalyDetector.update`` on the same records bit for bit. The inference step's trial copy
holds only the per-step state (well under a megabyte for the default model; times measured in
docs/experiments/river-baselines.md) and is dropped when ``score_one`` returns.

Which feature is which
----------------------
``value_key`` names the feature that is the value; left out, ``x`` must hold exactly one numeric
feature besides the timestamp (the name is then fixed by the first record). ``timestamp_key``
names a timestamp feature (a ``datetime``, :class:`pandas.Timestamp` or ISO string); with it the
model also encodes the time of day, as the NAB detector does, and without it the time encoder is
switched off. Other features are ignored. A value that is ``None`` or NaN is missing (River's
``MinMaxScaler`` gives NaN before it has seen a record): ``score_one`` returns 0 and
``learn_one`` skips the record. A feature that is absent, not a number or infinite raises
:class:`~htmkit.errors.InputError` naming it.

Value range: pass ``min_value``/``max_value`` (after a ``MinMaxScaler`` the range is 0 to 1),
or leave them out and the detector derives it from its first records (those score 0; see
``calibration_records`` of :class:`~htmkit.detector.AnomalyDetector`). ``detector_params``
passes any other :class:`~htmkit.detector.AnomalyDetector` argument (``config``,
``suppression``, ``ensemble``, ...). The same ``seed`` gives the same scores.

The model under the adapter is :attr:`HTMAnomalyDetector.detector`, an ordinary
:class:`~htmkit.detector.AnomalyDetector` (``detector.save(path)`` saves it in htmkit's
format); River's ``clone()`` gives a fresh, unfitted adapter with the same parameters, and the
adapter pickles.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

from .errors import HTMKitError, InputError, InputTypeError, ParameterError

__all__ = ["HTMAnomalyDetector", "RiverAdapterMixin", "RiverUnavailableError"]

_CLASS_NAME = "HTMAnomalyDetector"

#: built on River's base class at first access (module ``__getattr__``), so that importing this
#: module does not import River
HTMAnomalyDetector: type


class RiverUnavailableError(HTMKitError, ImportError):
    """River is not installed (``pip install 'htmkit[river]'``)."""


def _is_number(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def _same_record(a: tuple[Any, Any], b: tuple[Any, Any]) -> bool:
    """Whether two (timestamp, value) records are the same record (a cache hit)."""
    try:
        same = a[0] == b[0] and a[1] == b[1]
        return bool(same) if isinstance(same, bool) else False
    except Exception:  # noqa: BLE001  (incomparable timestamps: not the same record)
        return False


class RiverAdapterMixin:
    """The adapter's behaviour, free of River (``HTMAnomalyDetector`` mixes it into River's
    ``AnomalyDetector`` base class). See the module docstring for the protocol."""

    def __init__(
        self,
        value_key: str | None = None,
        timestamp_key: str | None = None,
        min_value: float | None = None,
        max_value: float | None = None,
        probationary_period: int = 750,
        seed: int = 42,
        detector_params: dict[str, Any] | None = None,
    ) -> None:
        # River's conventions: every parameter is stored under its own name, unchanged
        self.value_key = value_key
        self.timestamp_key = timestamp_key
        self.min_value = min_value
        self.max_value = max_value
        self.probationary_period = probationary_period
        self.seed = seed
        self.detector_params = detector_params
        for name, key in (("value_key", value_key), ("timestamp_key", timestamp_key)):
            if key is not None and not isinstance(key, str):
                raise ParameterError(f"{name} must be a feature name (str) or None, got {key!r}")
        if value_key is not None and value_key == timestamp_key:
            raise ParameterError(f"value_key and timestamp_key are both {value_key!r}")
        if detector_params is not None and not isinstance(detector_params, Mapping):
            raise ParameterError("detector_params must be a dict of AnomalyDetector arguments")
        extra = dict(detector_params or {})
        clash = sorted(set(extra) & {"min_value", "max_value", "probationary_period", "seed",
                                     "use_timestamp"})
        if clash:
            raise ParameterError(f"detector_params: {', '.join(clash)} are the adapter's own "
                                 "parameters (use_timestamp follows timestamp_key)")
        from .detector import AnomalyDetector

        self._detector = AnomalyDetector(min_value=min_value, max_value=max_value,
                                         probationary_period=probationary_period, seed=seed,
                                         use_timestamp=timestamp_key is not None, **extra)
        self._value_feature: str | None = value_key
        # (record, score) of the last score_one, returned again for the same record
        self._pending: tuple[tuple[Any, Any], float] | None = None

    # ------------------------------------------------------------------ features
    def _record(self, x: Any) -> tuple[Any, float] | None:
        if not isinstance(x, Mapping):
            raise InputTypeError(f"x must be a dict of features, got {type(x).__name__}")
        key = self._value_feature
        if key is None:
            numeric = [k for k, v in x.items() if k != self.timestamp_key and _is_number(v)]
            if len(numeric) != 1:
                raise InputError(
                    f"x has {len(numeric)} numeric features ({', '.join(map(str, numeric))}); "
                    "pass value_key to name the one that is the value")
            key = numeric[0]
        if key not in x:
            raise InputError(f"x has no feature {key!r} (value_key)")
        value = x[key]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None  # a missing value: not scored, not learned
        if not _is_number(value):
            raise InputTypeError(f"feature {key!r} (the value) must be a number, "
                                 f"got {type(value).__name__}")
        v = float(value)
        if not math.isfinite(v):
            raise InputError(f"feature {key!r} (the value) must be finite, got {value!r}")
        stamp = None
        if self.timestamp_key is not None:
            if x.get(self.timestamp_key) is None:
                raise InputError(f"x has no feature {self.timestamp_key!r} (timestamp_key)")
            stamp = x[self.timestamp_key]
        self._value_feature = key
        return stamp, v

    # ------------------------------------------------------------------ protocol
    def learn_one(self, x: dict[Any, Any]) -> None:
        """Advance the model by one HTM step (with learning) on ``x``."""
        record = self._record(x)
        if record is None:
            return
        stamp, v = record
        self._pending = None
        self._detector.update(stamp, v)

    def score_one(self, x: dict[Any, Any]) -> float:
        """The anomaly score in ``[0, 1]`` that learning ``x`` now would give; the model does
        not change (see :meth:`AnomalyDetector.score <htmkit.detector.AnomalyDetector.score>`)."""
        record = self._record(x)
        if record is None:
            return 0.0
        stamp, v = record
        pending = self._pending
        if pending is not None and _same_record(pending[0], (stamp, v)):
            return pending[1]
        score = float(self._detector.score(stamp, v))
        self._pending = ((stamp, v), score)
        return score

    # ------------------------------------------------------------------ extras
    @property
    def detector(self) -> Any:
        """The :class:`~htmkit.detector.AnomalyDetector` holding what has been learned (a
        pending ``score_one`` step is not part of it)."""
        return self._detector

    @classmethod
    def _unit_test_params(cls) -> Any:
        yield {"min_value": 0.0, "max_value": 1.0, "probationary_period": 20}


_built: type | None = None


def _build_class() -> type:
    """Build ``HTMAnomalyDetector`` on River's base class (imports River)."""
    global _built
    if _built is not None:
        return _built
    try:
        from river.base import AnomalyDetector as RiverAnomalyDetector
    except ImportError as exc:
        raise RiverUnavailableError(
            f"{_CLASS_NAME} needs River: pip install 'htmkit[river]' ({exc})") from None

    class _HTMAnomalyDetector(RiverAdapterMixin, RiverAnomalyDetector):
        __doc__ = ("htmkit's HTM anomaly detector as a River anomaly detector "
                   "(see :mod:`htmkit.river_adapter`).\n\n"
                   "    Parameters: value_key, timestamp_key, min_value, max_value, "
                   "probationary_period, seed, detector_params.")

    _HTMAnomalyDetector.__module__ = __name__
    _HTMAnomalyDetector.__name__ = _HTMAnomalyDetector.__qualname__ = _CLASS_NAME
    _built = _HTMAnomalyDetector
    return _HTMAnomalyDetector


def __getattr__(name: str) -> Any:
    if name == _CLASS_NAME:
        cls = _build_class()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
