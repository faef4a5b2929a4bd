"""Regions of the streaming models: the backtracking TM, the scalar predictor and the anomaly
likelihood (with the detector's spatial check and refractory period).

:class:`~htmkit.model.HTMModel` and :class:`~htmkit.detector.AnomalyDetector` are networks of
these and the adapters of :mod:`htmkit.network.regions`:

==============================  ==================================  ===========================
type                            class                               ports -> output
==============================  ==================================  ===========================
``BacktrackingTemporalMemory``  :class:`BacktrackingTMRegion`       feedforward (columns) ->
                                                                    cells (as the TM region)
``ScalarPredictor``             :class:`ScalarPredictorRegion`      feedforward + value ->
                                                                    steps with a prediction;
                                                                    ``.predictions``
``AnomalyLikelihood``           :class:`AnomalyLikelihoodRegion`    feedforward (active
                                                                    columns), unpredicted
                                                                    (their unpredicted part)
                                                                    + value -> alarm bit;
                                                                    ``.raw_anomaly``,
                                                                    ``.likelihood``,
                                                                    ``.log_likelihood``,
                                                                    ``.score``
==============================  ==================================  ===========================
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from ..anomaly import compute_log_likelihood as _log_likelihood
from ..errors import InputError, ParameterError
from ..params import params_to_dict
from ..sdr import SDR
from .regions import (
    Shape,
    TemporalMemoryRegion,
    ValueRegion,
    _as_input,
    _check_cfg_keys,
    _checked_params,
    _dataclass_from,
    _params_dict,
    _params_with_inputs,
    _sdr_view,
    _shape,
    _size,
)

__all__ = ["BacktrackingTMRegion", "ScalarPredictorRegion", "AnomalyLikelihoodRegion",
           "BACKTRACKING_TM_OUTPUTS"]

_EMPTY = np.zeros(0, dtype=np.int64)
_ALARM = SDR._trusted((1,), np.array([0]))
_NO_ALARM = SDR._trusted((1,), _EMPTY)

#: Outputs a :class:`BacktrackingTMRegion` offers.
BACKTRACKING_TM_OUTPUTS = ("active_cells", "predictive_cells", "columns",
                           "unpredicted_columns")


class BacktrackingTMRegion(TemporalMemoryRegion):
    """Adapter around :class:`~htmkit.backtracking_tm.BacktrackingTemporalMemory`.

    Port ``feedforward`` (active columns). Outputs as :class:`TemporalMemoryRegion` (those of
    :data:`BACKTRACKING_TM_OUTPUTS`); ``"unpredicted_columns"`` are the active columns the
    TM's raw anomaly counts (its ``anomaly_mode``).

    Parameters
    ----------
    tm : BacktrackingTemporalMemory or BacktrackingTemporalMemoryParams, optional
        Or pass the TM's keyword parameters.
    output : str
        The main output, one of :data:`BACKTRACKING_TM_OUTPUTS`.
    """

    type_name = "BacktrackingTemporalMemory"
    output_names: ClassVar[tuple[str, ...]] = BACKTRACKING_TM_OUTPUTS

    def __init__(self, tm: Any = None, *, output: str = "active_cells", **params: Any):
        from ..backtracking_tm import BacktrackingTemporalMemory as BTM

        if output not in BACKTRACKING_TM_OUTPUTS:
            raise ParameterError(f"BacktrackingTemporalMemory output must be one of "
                                 f"{BACKTRACKING_TM_OUTPUTS}, got {output!r}")
        if tm is None:
            tm = BTM(**params)
        elif params:
            raise ParameterError("pass either a BacktrackingTemporalMemory or its parameters, "
                                 "not both")
        elif not isinstance(tm, BTM):
            tm = BTM(tm)
        self._core = tm
        self._output_name = output
        p = tm.params
        self._col_shape = tuple(p.column_dimensions)
        self._cell_shape = (*self._col_shape, int(p.cells_per_column))
        self._cells_per_column = int(p.cells_per_column)
        self._columns: np.ndarray | None = None
        self._mark = np.zeros(int(np.prod(self._col_shape)), dtype=bool)
        self._prior: np.ndarray = _EMPTY  # columns predicted before the last step
        self._init_output()

    @property
    def input_shapes(self) -> dict[str, Shape]:
        return {"feedforward": self._col_shape}

    def _prior_predicted_columns(self) -> np.ndarray:
        tm = self._core
        if tm.params.anomaly_mode == "predicted":
            return np.unique(tm.predictive_cells.indices // self._cells_per_column)
        return tm.predicted_columns.indices

    def _predicted_columns(self) -> np.ndarray:
        return self._prior

    def _compute(self, inputs: dict[str, SDR], learn: bool) -> SDR:
        ff = inputs.get("feedforward")
        if ff is None:
            ff = _as_input(None, self._col_shape)
        flat = ff if len(ff.shape) == 1 else ff.flatten()
        self._prior = self._prior_predicted_columns()
        self._columns = flat.indices
        self._core.compute(flat, learn)
        return self.named_output(self._output_name)

    def reset(self) -> None:
        self._prior = _EMPTY
        super().reset()

    def describe(self) -> str:
        p = self._core.params
        return (f"BacktrackingTemporalMemory {p.num_columns}x{p.cells_per_column} cells, "
                f"output {self._output_name}")

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        state["prior"] = np.array(self._prior, dtype=np.int64)
        return state

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> BacktrackingTMRegion:
        obj = super().from_state(state)
        assert isinstance(obj, BacktrackingTMRegion)
        obj._prior = np.asarray(state.get("prior", _EMPTY), dtype=np.int64)
        return obj

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any], input_shapes: Mapping[str, Shape]
                    ) -> BacktrackingTMRegion:
        from ..backtracking_tm import BacktrackingTemporalMemoryParams

        params = _params_with_inputs(cfg, input_shapes, "BacktrackingTemporalMemory",
                                     (("feedforward", "column_dimensions", list),),
                                     allowed=frozenset({"params", "output"}))
        return cls(_dataclass_from(BacktrackingTemporalMemoryParams, params),
                   output=cfg.get("output", "active_cells"))

    @classmethod
    def config_output_shapes(cls, cfg: Mapping[str, Any], ff_shape: Shape | None
                             ) -> dict[str, Shape]:
        import dataclasses

        from ..backtracking_tm import BacktrackingTemporalMemoryParams

        params = _checked_params(BacktrackingTemporalMemoryParams, _params_dict(cfg))
        if "column_dimensions" in params:
            cols = _shape(params["column_dimensions"])
        elif ff_shape is not None:
            cols = ff_shape
        else:
            raise ParameterError("BacktrackingTemporalMemory needs column_dimensions or a "
                                 "feedforward link")
        defaults = {f.name: f.default for f in dataclasses.fields(
            BacktrackingTemporalMemoryParams)}
        cells = (*cols, int(params.get("cells_per_column", defaults["cells_per_column"])))
        shapes = {name: cells for name in BACKTRACKING_TM_OUTPUTS}
        shapes["columns"] = shapes["unpredicted_columns"] = cols
        out = cfg.get("output", "active_cells")
        if out not in BACKTRACKING_TM_OUTPUTS:
            raise ParameterError(f"BacktrackingTemporalMemory output must be one of "
                                 f"{BACKTRACKING_TM_OUTPUTS}, got {out!r}")
        shapes["output"] = shapes[out]
        return shapes

    @classmethod
    def _from_core_state(cls, core: Any, options: dict[str, Any]) -> BacktrackingTMRegion:
        from ..backtracking_tm import BacktrackingTemporalMemory

        return cls(BacktrackingTemporalMemory.from_state(core),
                   output=options.get("output", "active_cells"))


# ============================================================================ predictor
class ScalarPredictorRegion(ValueRegion):
    """Adapter around :class:`~htmkit.predictor.ScalarPredictor`: predicts a numeric field
    from a pattern (e.g. a TM's active cells) for each configured step.

    Port ``feedforward`` (any shape). The value given in ``Network.run`` is the number seen
    this step (``None`` or NaN: missing, nothing is learned). Each step the region first
    learns (when learning), then infers: :attr:`predictions` is ``{step: ScalarPrediction}``.
    The output SDR has one bit per step, on where that step has a prediction.

    Parameters
    ----------
    predictor : ScalarPredictor, optional
        A built predictor; or pass ``input_shape`` and the predictor's keyword parameters
        (``steps``, ``resolution``, ``alpha``, ``offset``, ``value_alpha``, ``max_classes``).
    """

    type_name = "ScalarPredictor"
    _PARAMS: ClassVar[tuple[str, ...]] = ("steps", "resolution", "alpha", "offset",
                                          "value_alpha", "max_classes")

    def __init__(self, predictor: Any = None, *, input_shape: Any = None, **params: Any):
        from ..predictor import ScalarPredictor

        unknown = sorted(set(params) - set(self._PARAMS))
        if unknown:
            raise ParameterError(f"unknown parameter(s) for a ScalarPredictor region: "
                                 f"{unknown} (allowed: {list(self._PARAMS)})")
        if predictor is None:
            if input_shape is None:
                raise ParameterError("a ScalarPredictor region needs input_shape")
            if isinstance(params.get("steps"), list):
                params["steps"] = tuple(params["steps"])
            predictor = ScalarPredictor(input_size=_size(_shape(input_shape)), **params)
        elif params:
            raise ParameterError("pass either a ScalarPredictor or its parameters, not both")
        size = predictor.predictor.params.input_size
        if size is None:
            raise ParameterError("the ScalarPredictor region's predictor needs input_size")
        self._core = predictor
        self._input_shape = _shape(input_shape) if input_shape is not None else (int(size),)
        if _size(self._input_shape) != size:
            raise ParameterError(f"input_shape {self._input_shape} does not match the "
                                 f"predictor's input_size {size}")
        self._flat_shape = (_size(self._input_shape),)
        self._steps = tuple(predictor.steps)
        self._outputs_by_bits: dict[tuple[int, ...], SDR] = {}
        self._value: Any = None
        self._predictions: dict[int, Any] = {}
        self._init_output()

    @property
    def input_shapes(self) -> dict[str, Shape]:
        return {"feedforward": self._input_shape}

    @property
    def output_shape(self) -> Shape:
        return (len(self._steps),)

    @property
    def steps(self) -> tuple[int, ...]:
        return self._steps

    @property
    def predictions(self) -> dict[int, Any]:
        """``{step: ScalarPrediction}`` of the last step (see ``ScalarPredictor.infer``)."""
        return self._predictions

    def prepare_value(self, value: Any) -> Any:
        """Check the number ``value`` as the predictor's ``learn`` will (``None`` or NaN:
        missing; else a finite number whose bucket fits ``max_classes``) without changing
        anything; returns it."""
        if value is None:
            return value
        if type(value) is float:
            if math.isnan(value):
                return value
        elif (isinstance(value, numbers.Real) and not isinstance(value, bool)
              and math.isnan(value)):
            return value
        pred = self._core
        buckets = pred.buckets
        if buckets.bucket(value) is None:  # bucket() checks the value
            mc = pred.predictor.params.max_classes
            if mc is not None and buckets.num_buckets >= mc:
                raise InputError(f"value {value!r} needs a new bucket beyond max_classes={mc}")
        return value

    def commit_value(self, prepared: Any) -> None:
        """Keep a value returned by :meth:`prepare_value` for the next compute."""
        self._value = prepared

    def _compute(self, inputs: dict[str, SDR], learn: bool) -> SDR:
        pattern = inputs.get("feedforward")
        if pattern is None:
            pattern = _as_input(None, self._input_shape)
        if len(pattern.shape) != 1:
            pattern = _sdr_view(self._flat_shape, pattern._indices)
        pred = self._core
        if learn:
            pred.learn(pattern, self._value)
        self._value = None
        self._predictions = preds = pred.infer(pattern)
        on = tuple([i for i, k in enumerate(self._steps)
                    if k in preds and math.isfinite(preds[k].value)])
        out = self._outputs_by_bits.get(on)
        if out is None:
            out = self._outputs_by_bits[on] = SDR._trusted(self.output_shape,
                                                           np.asarray(on, dtype=np.int64))
        return out

    def reset(self) -> None:
        self._core.reset()
        self._value = None
        self._predictions = {}
        self._init_output()

    def describe(self) -> str:
        return f"ScalarPredictor steps {list(self._steps)}"

    def _options(self) -> dict[str, Any]:
        return {"input_shape": list(self._input_shape)}

    def to_config(self) -> dict[str, Any]:
        pred = self._core
        b = pred.buckets
        params = {"steps": list(self._steps), "resolution": float(b.resolution),
                  "alpha": float(pred.predictor.params.alpha), "offset": float(b.offset),
                  "value_alpha": float(b.value_alpha),
                  "max_classes": pred.predictor.params.max_classes}
        return {"type": self.type_name, "input_shape": list(self._input_shape),
                "params": params}

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any], input_shapes: Mapping[str, Shape]
                    ) -> ScalarPredictorRegion:
        _check_cfg_keys(cfg, {"params", "input_shape"}, "ScalarPredictor")
        shape = cfg.get("input_shape", input_shapes.get("feedforward"))
        return cls(input_shape=shape, **_params_dict(cfg))

    @classmethod
    def config_output_shapes(cls, cfg: Mapping[str, Any], ff_shape: Shape | None
                             ) -> dict[str, Shape]:
        steps = _params_dict(cfg).get("steps", (1,))
        n = 1 if isinstance(steps, (int, np.integer)) else len(steps)
        return {"output": (n,)}

    def _core_state(self) -> Any:
        return self._core.get_state()

    @classmethod
    def _from_core_state(cls, core: Any, options: dict[str, Any]) -> ScalarPredictorRegion:
        from ..predictor import ScalarPredictor

        return cls(ScalarPredictor.from_state(core), input_shape=options.get("input_shape"))


# ============================================================================ likelihood
def check_suppression(name: str, suppression: Any) -> list[float | int] | None:
    """A refractory period ``(level, records, factor)`` as a list (``None`` stays ``None``);
    :class:`ParameterError` naming ``name`` otherwise (a :class:`~htmkit.params.Custom`
    constraint)."""
    if suppression is None:
        return None
    try:
        level, recs, factor = suppression
        level, recs, factor = float(level), int(recs), float(factor)
    except (TypeError, ValueError):
        raise ParameterError(
            f"{name} must be (level, records, factor) or None, got {suppression!r}"
        ) from None
    if recs < 0 or not 0.0 <= factor <= 1.0 or not math.isfinite(level):
        raise ParameterError(
            f"{name} needs records >= 0 and factor in [0, 1], got {suppression!r}")
    return [level, recs, factor]


def _check_raw_scores(others: Any) -> None:
    """Raise :class:`InputError` unless ``others`` is a sequence of numbers in [0, 1]."""
    try:
        items = list(others)
    except TypeError:
        raise InputError(f"ensemble_raw must be a sequence of raw anomaly scores, got "
                         f"{others!r}") from None
    for x in items:
        if isinstance(x, bool) or not isinstance(x, numbers.Real) or not 0.0 <= float(x) <= 1.0:
            raise InputError(f"ensemble_raw: each raw score must be a number in [0, 1], "
                             f"got {x!r}")


class AnomalyLikelihoodRegion(ValueRegion):
    """Raw anomaly in, anomaly likelihood out: adapter around
    :class:`~htmkit.anomaly.AnomalyLikelihood`, with the detector's spatial-anomaly check and
    refractory period as options.

    Ports ``feedforward`` (the active columns) and ``unpredicted`` (those of them that were
    not predicted: a TM region's ``"unpredicted_columns"`` output). The raw anomaly is
    ``|unpredicted| / |active|`` (zero without active columns), the TM's own raw anomaly. The
    value given in ``Network.run`` is the record: a number (or ``None``: no value), or a
    mapping with ``"value"``, optionally ``"timestamp"`` and ``"ensemble_raw"`` (raw scores
    of other models: the likelihood is then fed the median of this region's raw score and
    those).

    Each step sets :attr:`raw_anomaly`, :attr:`likelihood`, :attr:`log_likelihood` and
    :attr:`score`: the log-likelihood clipped to [0, 1], or one for a spatial anomaly, damped
    during a refractory period. The output is one bit, on when :attr:`score` reaches
    ``alarm_level``.

    Parameters
    ----------
    likelihood : AnomalyLikelihood or AnomalyLikelihoodParams, optional
        Or pass the likelihood's keyword parameters.
    input_shape : shape
        Shape of the column ports (from the links in a config).
    spatial_tolerance : float or None
        A value beyond the running min/max by more than this fraction of the seen range
        scores one; ``None`` (the default) switches the check off.
    suppression : (level, records, factor) or None
        Once a score reaches ``level``, the next ``records`` scores are multiplied by
        ``factor`` (spatial anomalies still score one); ``None`` (the default): off.
    alarm_level : float
        The score at which the output bit is on.
    """

    type_name = "AnomalyLikelihood"
    required_inputs = frozenset({"feedforward", "unpredicted"})

    def __init__(self, likelihood: Any = None, *, input_shape: Any, spatial_tolerance:
                 float | None = None, suppression: Any = None, alarm_level: float = 0.5,
                 **params: Any):
        from ..anomaly import AnomalyLikelihood

        if likelihood is None:
            likelihood = AnomalyLikelihood(**params)
        elif params:
            raise ParameterError("pass either an AnomalyLikelihood or its parameters, not both")
        elif not isinstance(likelihood, AnomalyLikelihood):
            likelihood = AnomalyLikelihood(likelihood)
        self._core = likelihood
        self._input_shape = _shape(input_shape)
        self._value: Any = None
        self.configure(spatial_tolerance=spatial_tolerance, suppression=suppression,
                       alarm_level=alarm_level)
        self._seen_min = math.nan
        self._seen_max = math.nan
        self._suppress_left = 0
        self.raw_anomaly = 0.0
        self.likelihood = 0.5
        self.log_likelihood = 0.0
        self.score = 0.0
        self._init_output()

    def configure(self, *, spatial_tolerance: float | None, suppression: Any,
                  alarm_level: float = 0.5) -> None:
        """Set the spatial check, the refractory period and the alarm level."""
        if spatial_tolerance is not None and not 0 <= float(spatial_tolerance) < 10:
            raise ParameterError(f"spatial_tolerance must be in [0, 10), got "
                                 f"{spatial_tolerance}")
        if not math.isfinite(float(alarm_level)):
            raise ParameterError(f"alarm_level must be finite, got {alarm_level!r}")
        self._tolerance = None if spatial_tolerance is None else float(spatial_tolerance)
        self._suppression = check_suppression("suppression", suppression)
        self._alarm_level = float(alarm_level)

    @property
    def core(self) -> Any:
        """The :class:`~htmkit.anomaly.AnomalyLikelihood`."""
        return self._core

    @core.setter
    def core(self, likelihood: Any) -> None:
        self._core = likelihood

    @property
    def input_shapes(self) -> dict[str, Shape]:
        return {"feedforward": self._input_shape, "unpredicted": self._input_shape}

    @property
    def output_shape(self) -> Shape:
        return (1,)

    @property
    def seen_range(self) -> tuple[float, float]:
        """Smallest and largest value seen (NaN before the first)."""
        return self._seen_min, self._seen_max

    @property
    def suppress_left(self) -> int:
        """Records left in the current refractory period."""
        return self._suppress_left

    def prepare_value(self, value: Any) -> Any:
        """Check the record ``value`` without changing anything; returns it. Only the other
        models' raw scores (``"ensemble_raw"``) can make the likelihood's ``update`` fail:
        each must be a number in [0, 1]."""
        if isinstance(value, Mapping):
            others = value.get("ensemble_raw")
            if others is not None:
                _check_raw_scores(others)
        return value

    def commit_value(self, prepared: Any) -> None:
        """Keep a record returned by :meth:`prepare_value` for the next compute."""
        self._value = prepared

    def _compute(self, inputs: dict[str, SDR], learn: bool) -> SDR:
        record = self._value
        self._value = None
        others = None
        timestamp = None
        if type(record) is dict or isinstance(record, Mapping):
            value = record.get("value")
            timestamp = record.get("timestamp")
            others = record.get("ensemble_raw")
        else:
            value = record
        active = inputs.get("feedforward")
        n = 0 if active is None else active._indices.shape[0]
        if n == 0:
            raw = 0.0
        else:
            unpredicted = inputs.get("unpredicted")
            m = 0 if unpredicted is None else unpredicted._indices.shape[0]
            raw = m / n
        self.raw_anomaly = raw
        spatial = self._tolerance is not None and self._spatial(value)
        fed = float(np.median([raw, *others])) if others else raw
        self.likelihood = likelihood = float(self._core.update(fed, value, timestamp))
        self.log_likelihood = log = float(_log_likelihood(likelihood))
        score = 0.0 if log < 0.0 else (1.0 if log > 1.0 else log)
        if spatial or self._suppression is not None:
            score = self._refractory(score, spatial)
        self.score = score
        return _ALARM if score >= self._alarm_level else _NO_ALARM

    def _spatial(self, value: Any) -> bool:
        if self._tolerance is None or value is None:
            return False
        v = float(value)
        if not math.isfinite(v):
            return False
        spatial = False
        lo, hi = self._seen_min, self._seen_max
        if math.isfinite(lo) and hi > lo:
            span = (hi - lo) * self._tolerance
            spatial = v > hi + span or v < lo - span
        if not math.isfinite(lo) or v < lo:
            self._seen_min = v
        if not math.isfinite(hi) or v > hi:
            self._seen_max = v
        return spatial

    def _refractory(self, score: float, spatial: bool) -> float:
        sup = self._suppression
        if sup is not None and self._suppress_left > 0:
            self._suppress_left -= 1
            return 1.0 if spatial else score * sup[2]
        out = 1.0 if spatial else score
        if sup is not None and out >= sup[0]:
            self._suppress_left = int(sup[1])
        return out

    def reset(self) -> None:
        """Nothing to forget: the likelihood follows the stream across sequences."""
        self._value = None
        self._init_output()

    def describe(self) -> str:
        extra = []
        if self._tolerance is not None:
            extra.append(f"spatial tolerance {self._tolerance}")
        if self._suppression is not None:
            extra.append(f"refractory {self._suppression[1]} records")
        return "AnomalyLikelihood" + (f" ({', '.join(extra)})" if extra else "")

    def _options(self) -> dict[str, Any]:
        return {"input_shape": list(self._input_shape), "spatial_tolerance": self._tolerance,
                "suppression": self._suppression, "alarm_level": self._alarm_level}

    def to_config(self) -> dict[str, Any]:
        return {"type": self.type_name, **self._options(),
                "params": params_to_dict(self._core.params)}

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any], input_shapes: Mapping[str, Shape]
                    ) -> AnomalyLikelihoodRegion:
        from ..anomaly import AnomalyLikelihoodParams

        _check_cfg_keys(cfg, {"params", "input_shape", "spatial_tolerance", "suppression",
                              "alarm_level"}, "AnomalyLikelihood")
        shape = cfg.get("input_shape", input_shapes.get("feedforward"))
        if shape is None:
            raise ParameterError("an AnomalyLikelihood region needs input_shape or a "
                                 "feedforward link")
        return cls(_dataclass_from(AnomalyLikelihoodParams, _params_dict(cfg)),
                   input_shape=shape, spatial_tolerance=cfg.get("spatial_tolerance"),
                   suppression=cfg.get("suppression"),
                   alarm_level=cfg.get("alarm_level", 0.5))

    @classmethod
    def config_output_shapes(cls, cfg: Mapping[str, Any], ff_shape: Shape | None
                             ) -> dict[str, Shape]:
        return {"output": (1,)}

    def get_state(self) -> dict[str, Any]:
        state = super().get_state()
        state["stream"] = {"seen": [self._seen_min, self._seen_max],
                           "suppress_left": self._suppress_left,
                           "last": [self.raw_anomaly, self.likelihood, self.log_likelihood,
                                    self.score]}
        return state

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> AnomalyLikelihoodRegion:
        obj = super().from_state(state)
        assert isinstance(obj, AnomalyLikelihoodRegion)
        stream = state.get("stream") or {}
        if stream:
            obj._seen_min, obj._seen_max = (float(x) for x in stream["seen"])
            obj._suppress_left = int(stream["suppress_left"])
            (obj.raw_anomaly, obj.likelihood, obj.log_likelihood,
             obj.score) = (float(x) for x in stream["last"])
        return obj

    def _core_state(self) -> Any:
        return self._core.get_state()

    @classmethod
    def _from_core_state(cls, core: Any, options: dict[str, Any]) -> AnomalyLikelihoodRegion:
        from ..anomaly import AnomalyLikelihood

        supp = options.get("suppression")
        tol = options.get("spatial_tolerance")
        return cls(AnomalyLikelihood.from_state(core), input_shape=options["input_shape"],
                   spatial_tolerance=None if tol is None else float(tol),
                   suppression=None if supp is None else list(supp),
                   alarm_level=float(options.get("alarm_level", 0.5)))
