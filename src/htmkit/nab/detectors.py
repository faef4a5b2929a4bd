"""Streaming anomaly detectors for NAB: the protocol, a name registry and the baselines.

The protocol
------------
A detector sees one series, one record at a time, and returns an anomaly score per record
(NAB's scores lie in ``[0, 1]``; the scorer only needs them finite)::

    class MyDetector:
        def __init__(self, *, min_value, max_value, probationary_period, seed): ...
        def update(self, timestamp, value) -> float: ...

(``update`` is htmkit's one verb for streaming objects; NAB's own detectors call it
``handleRecord``.)

``min_value``/``max_value`` are the minimum and maximum of the whole series and
``probationary_period`` is the number of leading rows NAB does not score -- exactly what NAB
hands its detectors (``inputMin``/``inputMax``/``probationaryPeriod``). ``timestamp`` is a
:class:`pandas.Timestamp` (a ``datetime``), ``value`` a ``float``. A fresh detector is built
for every series with the same ``seed`` (NAB's random detector likewise reseeds per file).

The registry
------------
:func:`register_detector` maps a name to a factory called with those four keyword arguments;
:func:`create_detector` builds one by name, :func:`available_detectors` lists the names. The
runner resolves names inside its worker processes, so a detector registered at run time by the
caller is visible to workers started with ``fork`` (the Linux default) but not with ``spawn``;
built-in names always are.

River's detectors
-----------------
``"river-hst"`` (HalfSpaceTrees), ``"river-pad"`` (PredictiveAnomalyDetection with SNARIMAX)
and ``"river-gaussian"`` (GaussianScorer) are River's streaming detectors as baselines
(:mod:`htmkit.nab.river_baselines`; they need ``pip install 'htmkit[river]'`` and import River
only when built).

How the HTM detector plugs in
-----------------------------
The name ``"htmkit"`` is registered from the start with a lazy factory: on first use it imports
``htmkit.detector`` and takes ``AnomalyDetector`` from it. If that class has a ``for_nab``
classmethod it is called with the four keyword arguments, otherwise the class itself is. The
object returned must have ``update(timestamp, value) -> float``. Until that module
exists, using the name raises :class:`DetectorUnavailableError` with a clear message; nothing
else in the NAB tooling changes when it lands.
"""

from __future__ import annotations

import importlib
import inspect
import math
import random
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np

from ..errors import HTMKitError, ParameterError


class DetectorError(HTMKitError, RuntimeError):
    """A detector cannot be built or misbehaves (e.g. returns a non-finite score)."""


class DetectorUnavailableError(DetectorError):
    """A registered detector's implementation cannot be imported (yet)."""


@runtime_checkable
class Detector(Protocol):
    """What the runner needs from a detector (see the module docstring); the runner knows
    it by the name it was registered under."""

    def update(self, timestamp: Any, value: float) -> float: ...


DetectorFactory = Callable[..., Detector]
"""``factory(*, min_value, max_value, probationary_period, seed) -> Detector``."""


class BaseDetector:
    """Convenience base: stores the NAB arguments; subclasses implement :meth:`update`."""

    name = "base"

    def __init__(
        self,
        *,
        min_value: float = 0.0,
        max_value: float = 1.0,
        probationary_period: int = 0,
        seed: int = 42,
    ) -> None:
        self.min_value = float(min_value)
        self.max_value = float(max_value)
        self.probationary_period = int(probationary_period)
        self.seed = int(seed)

    def update(self, timestamp: Any, value: float) -> float:  # pragma: no cover
        raise NotImplementedError


class NullDetector(BaseDetector):
    """NAB's ``null`` baseline: the constant score 0.5 for every record."""

    name = "null"

    def update(self, timestamp: Any, value: float) -> float:
        return 0.5


class RandomDetector(BaseDetector):
    """NAB's ``random`` baseline: a seeded uniform score in ``[0, 1)`` per record."""

    name = "random"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._rng = random.Random(self.seed)

    def update(self, timestamp: Any, value: float) -> float:
        return self._rng.random()


class WindowedGaussianDetector(BaseDetector):
    """NAB's ``windowedGaussian`` baseline.

    Keeps the last ``window_size`` values and scores a record by its z-score ``z`` under the
    normal distribution fitted to the window *before* the record is added (mean and
    population standard deviation, ``1e-6`` when that is 0): ``score = 1 - Q(|z|)``, one
    minus the Gaussian tail probability, so unusually high *or* low values score near 1.
    This is NAB's final detector code, which produced its scoreboard row
    (:data:`htmkit.nab.bench.PUBLISHED`).

    ``one_sided=True`` scores ``1 - Q(z) = Phi(z)`` instead (only unusually *high* values
    score near 1): that is what generated the ``results/windowedGaussian`` CSVs stored in the
    NAB repository (checked row by row on ``nyc_taxi``) and its ``config/thresholds.json``.

    The statistics are refreshed after every record while the window fills, then every
    ``step_size`` records as the window slides by ``step_size``. The first record scores 0.
    Defaults (6400, 100) are NAB's tuned values.
    """

    name = "windowed_gaussian"
    window_size = 6400
    step_size = 100

    def __init__(
        self,
        *,
        window_size: int | None = None,
        step_size: int | None = None,
        one_sided: bool = False,
        **kw: Any,
    ):
        super().__init__(**kw)
        if window_size is not None:
            self.window_size = int(window_size)
        if step_size is not None:
            self.step_size = int(step_size)
        if self.window_size < 1 or not 1 <= self.step_size <= self.window_size:
            raise ParameterError("window_size must be >= 1 and 1 <= step_size <= window_size")
        self.one_sided = bool(one_sided)
        self._window = np.empty(self.window_size, dtype=np.float64)
        self._filled = 0
        self._pending: list[float] = []
        self._mean = 0.0
        self._std = 1.0

    def _refresh(self) -> None:
        data = self._window[: self._filled]
        self._mean = float(np.mean(data))
        std = float(np.std(data))
        self._std = std if std != 0.0 else 1e-6

    def update(self, timestamp: Any, value: float) -> float:
        value = float(value)
        score = 0.0
        if self._filled:
            z = (value - self._mean) / self._std
            if not self.one_sided:
                z = abs(z)
            score = 1.0 - 0.5 * math.erfc(z / math.sqrt(2.0))
        if self._filled < self.window_size:
            self._window[self._filled] = value
            self._filled += 1
            self._refresh()
        else:
            self._pending.append(value)
            if len(self._pending) == self.step_size:
                k = self.step_size
                self._window[:-k] = self._window[k:].copy()
                self._window[-k:] = self._pending
                self._pending = []
                self._refresh()
        return score


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------

HTMKIT_MODULE = "htmkit.detector"
HTMKIT_CLASS = "AnomalyDetector"


def _htmkit_factory(
    *, min_value: float, max_value: float, probationary_period: int, seed: int,
    config: dict[str, Any] | None = None,
) -> Detector:
    """Lazy factory for ``"htmkit"``: ``htmkit.detector.AnomalyDetector`` (see module doc);
    ``config`` (a detector ``config`` mapping) is passed on only when given."""
    try:
        module = importlib.import_module(HTMKIT_MODULE)
    except ModuleNotFoundError as exc:
        if exc.name not in (HTMKIT_MODULE, HTMKIT_MODULE.rsplit(".", 1)[0]):
            raise
        raise DetectorUnavailableError(
            f"detector 'htmkit' is not available yet: module {HTMKIT_MODULE!r} does not exist "
            f"(it must define {HTMKIT_CLASS} with update(timestamp, value) -> float)"
        ) from None
    cls = getattr(module, HTMKIT_CLASS, None)
    if cls is None:
        raise DetectorUnavailableError(
            f"detector 'htmkit' is not available yet: {HTMKIT_MODULE} defines no {HTMKIT_CLASS}"
        )
    make = getattr(cls, "for_nab", cls)
    det = make(
        min_value=min_value,
        max_value=max_value,
        probationary_period=probationary_period,
        seed=seed,
        **({} if config is None else {"config": config}),
    )
    if not callable(getattr(det, "update", None)):
        raise DetectorError(
            f"{HTMKIT_MODULE}.{HTMKIT_CLASS} built for NAB has no update(timestamp, value)"
        )
    return det


def _htmkit_ensemble_factory(
    *, min_value: float, max_value: float, probationary_period: int, seed: int,
    config: dict[str, Any] | None = None,
) -> Detector:
    """``"htmkit-ensemble"``: ``AnomalyDetector(ensemble=3)``, three HTM models (seeds
    ``seed`` to ``seed + 2``) whose median raw anomaly feeds the likelihood."""
    from ..detector import AnomalyDetector

    return AnomalyDetector(min_value=min_value, max_value=max_value,
                           probationary_period=probationary_period, seed=seed, ensemble=3,
                           config=config)


def _river_hst_factory(**kw: Any) -> Detector:
    """``"river-hst"``: River's HalfSpaceTrees (:mod:`htmkit.nab.river_baselines`)."""
    from .river_baselines import RiverHalfSpaceTrees

    return RiverHalfSpaceTrees(**kw)


def _river_pad_factory(**kw: Any) -> Detector:
    """``"river-pad"``: River's PredictiveAnomalyDetection with SNARIMAX
    (:mod:`htmkit.nab.river_baselines`)."""
    from .river_baselines import RiverPredictive

    return RiverPredictive(**kw)


def _river_gaussian_factory(**kw: Any) -> Detector:
    """``"river-gaussian"``: River's GaussianScorer (:mod:`htmkit.nab.river_baselines`)."""
    from .river_baselines import RiverGaussian

    return RiverGaussian(**kw)


_REGISTRY: dict[str, DetectorFactory] = {
    "null": NullDetector,
    "random": RandomDetector,
    "windowed_gaussian": WindowedGaussianDetector,
    "htmkit": _htmkit_factory,
    "htmkit-ensemble": _htmkit_ensemble_factory,
    "river-hst": _river_hst_factory,
    "river-pad": _river_pad_factory,
    "river-gaussian": _river_gaussian_factory,
}


def check_label(name: str) -> None:
    """A detector name or result label is used in result paths: letters, digits, ``_-.``
    (not starting with ``.``)."""
    if not name or not all(c.isalnum() or c in "_-." for c in name) or name[0] == ".":
        raise ParameterError(f"detector name {name!r}: use letters, digits, '_', '-', '.'")


def register_detector(name: str, factory: DetectorFactory, *, replace: bool = False) -> None:
    """Register ``factory`` under ``name`` (used in result paths: letters, digits, ``_-.``)."""
    check_label(name)
    if not callable(factory):
        raise ParameterError(f"detector factory for {name!r} is not callable")
    if name in _REGISTRY and not replace:
        raise ParameterError(f"detector {name!r} is already registered (pass replace=True)")
    _REGISTRY[name] = factory


def unregister_detector(name: str) -> None:
    """Remove ``name`` from the registry (no error when absent)."""
    _REGISTRY.pop(name, None)


def available_detectors() -> list[str]:
    """Registered names, sorted (``htmkit`` is listed even before its module exists)."""
    return sorted(_REGISTRY)


def get_factory(name: str) -> DetectorFactory:
    """The factory registered under ``name``; :class:`ParameterError` naming the known ones."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ParameterError(
            f"unknown detector {name!r}; available: {', '.join(available_detectors())}"
        ) from None


def create_detector(
    name: str,
    *,
    min_value: float,
    max_value: float,
    probationary_period: int,
    seed: int = 42,
    config: dict[str, Any] | None = None,
) -> Detector:
    """Build detector ``name`` for one series. ``config`` goes to the factory as its
    ``config`` keyword (the ``htmkit`` detectors take a detector configuration); a factory
    that does not name a ``config`` parameter refuses it."""
    factory = get_factory(name)
    if config is None:
        return factory(min_value=min_value, max_value=max_value,
                       probationary_period=probationary_period, seed=seed)
    if not isinstance(config, dict):
        raise ParameterError(f"config for detector {name!r} must be a mapping, "
                             f"got {type(config).__name__}")
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        params = {}  # type: ignore[assignment]
    if "config" not in params:
        raise ParameterError(f"detector {name!r} takes no config")
    return factory(min_value=min_value, max_value=max_value,
                   probationary_period=probationary_period, seed=seed, config=config)
