"""The streaming model: encoders -> Spatial Pooler -> Temporal Memory -> predictor + anomaly.

:class:`HTMModel` is NuPIC's "model from parameters" workflow: one configuration (a dict or a
YAML file) describes the value encoder, the timestamp encoder, the SP, the TM, the predictor
and the anomaly likelihood; :meth:`HTMModel.run` takes one record and returns predictions for
every configured step, the raw anomaly score and the anomaly likelihood.

Configuration (every key optional; missing keys take the defaults in :data:`DEFAULT_CONFIG`)::

    value:                 # the predicted numeric field
      encoder: {size: 400, active_bits: 21, resolution: null, buckets: 130, seed: 1}
    timestamp:             # DateEncoder fields; set all widths to 0 to ignore time
      encoder: {time_of_day_width: 21, time_of_day_radius: ..., weekend_width: 0}
    sp: {column_dimensions: [2048], ...}      # SpatialPoolerParams fields
    tm: {cells_per_column: 32, ...}           # TemporalMemoryParams fields
                           # (implementation: backtracking -> BacktrackingTemporalMemoryParams)
    predictor: {steps: [1], alpha: ...}
    likelihood: {learning_period: 288, ...}   # AnomalyLikelihoodParams fields
    seed: 42
    levels: 1              # 2: add the temporal hierarchy (off by default)
    level2: {pool: {...}, tm: {...}}          # its TemporalPoolerParams / TemporalMemoryParams

``levels: 2`` adds a second level: a ``pool`` region (a fixed
:class:`~htmkit.temporal_pooler.TemporalPooler`, no learning or boosting, over the TM's
active and predicted-active cells) -> ``level2`` (a Temporal Memory whose columns are the
pooled cells) -> apical feedback into ``tm`` (delay 1). The TM gets
``external_apical_size`` for it; the backtracking TM has
no apical input and is refused. Leaving ``levels`` out (or 1) builds exactly the one-level
model.

The value encoder's ``resolution`` is derived from the data range when not given:
``resolution = max(min_resolution, (maximum - minimum) / buckets)``; :meth:`HTMModel.for_data`
does this from a sample of values, or pass ``minimum``/``maximum`` in ``value.encoder``.

``tm.implementation`` picks the Temporal Memory: ``"temporal_memory"`` (the default, BAMI's
:class:`~htmkit.temporal_memory.TemporalMemory`) or ``"backtracking"`` (NuPIC's older
:class:`~htmkit.backtracking_tm.BacktrackingTemporalMemory`; its NAB parameters are
:data:`htmkit.backtracking_tm.NAB_PARAMS`). The other ``tm`` keys are that class's parameters.

The model is a :class:`~htmkit.network.Network` (``model.network``; ``print`` it): encoder
regions ``value`` and ``timestamp`` -> ``sp`` -> ``tm`` -> ``predictor``
(:class:`~htmkit.network.ScalarPredictorRegion`), and ``likelihood``
(:class:`~htmkit.network.AnomalyLikelihoodRegion`) fed the SP's active columns and the TM's
unpredicted columns. ``model.sp``, ``model.tm``, ``model.predictor``, ``model.likelihood`` and
the encoders are the algorithms inside those regions. Files saved before the model ran as a
network load too (:meth:`HTMModel.from_state` converts them).

A missing value (``None`` or NaN) is encoded as an empty SDR: the model still steps (the time
encoding and the sequence context go on), the predictor does not learn from it, and its
prediction fields are NaN.
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import InputError, InputTypeError, ParameterError
from .params import NUPIC_TM
from .sdr import SDR
from .serialization import Persistable

__all__ = ["DEFAULT_CONFIG", "HTMModel", "ModelResult", "load_config", "merge_config"]

#: Values of the ``tm.implementation`` config key.
TM_IMPLEMENTATIONS = ("temporal_memory", "backtracking")


def tm_class(implementation: Any) -> Any:
    """The Temporal Memory class of a ``tm.implementation`` value."""
    if implementation == "temporal_memory":
        from .temporal_memory import TemporalMemory

        return TemporalMemory
    if implementation == "backtracking":
        from .backtracking_tm import BacktrackingTemporalMemory

        return BacktrackingTemporalMemory
    raise ParameterError(f"tm.implementation must be one of {list(TM_IMPLEMENTATIONS)}, "
                         f"got {implementation!r}")

#: The default configuration. The value and time-of-day encoders and the SP are those of
#: Numenta's NAB entry (:data:`htmkit.detector.DETECTOR_CONFIG` takes them from here).
DEFAULT_CONFIG: dict[str, Any] = {
    "value": {
        "encoder": {
            "size": 400,
            "active_bits": 21,
            "resolution": None,
            "minimum": None,
            "maximum": None,
            "buckets": 130,
            "min_resolution": 0.001,
            "seed": 1,
        }
    },
    "timestamp": {
        "encoder": {
            "time_of_day_width": 21,
            "time_of_day_radius": 9.49,
            "weekend_width": 0,
            "day_of_week_width": 0,
        }
    },
    "sp": {
        "column_dimensions": [2048],
        "potential_pct": 0.8,
        "global_inhibition": True,
        "num_active_columns_per_inh_area": 40,
        "local_area_density": None,
        "stimulus_threshold": 0,
        "syn_perm_connected": 0.2,
        "syn_perm_active_inc": 0.003,
        "syn_perm_inactive_dec": 0.0005,
        "boost_strength": 0.0,
    },
    # NuPIC's TM parameters (htmkit.params.NUPIC_TM) with larger segment limits
    "tm": {**NUPIC_TM, "max_segments_per_cell": 128, "max_synapses_per_segment": 128},
    "predictor": {"steps": [1], "alpha": 0.1, "resolution": None},
    "likelihood": {},
    "seed": 42,
}

#: Top-level keys accepted although not in :data:`DEFAULT_CONFIG` (left out, a config and its
#: saved form stay as they were): the optional second level.
OPTIONAL_SECTIONS = ("levels", "level2")


def merge_config(base: dict[str, Any], override: Mapping[str, Any],
                 path: str = "") -> dict[str, Any]:
    """``override`` merged recursively over a copy of ``base``; an unknown top-level section
    raises :class:`ParameterError`."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        where = f"{path}{key}"
        if not path and key not in base and key not in OPTIONAL_SECTIONS:
            raise ParameterError(f"unknown model config section {where!r} "
                                 f"(known: {sorted(base) + list(OPTIONAL_SECTIONS)})")
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = merge_config(out[key], value, where + ".")
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_config(source: str | os.PathLike[str] | Mapping[str, Any] | None) -> dict[str, Any]:
    """A full configuration: ``source`` (dict or YAML file) merged over the defaults."""
    if source is None:
        return copy.deepcopy(DEFAULT_CONFIG)
    if isinstance(source, Mapping):
        return merge_config(DEFAULT_CONFIG, source)
    return merge_config(DEFAULT_CONFIG, read_config_file(source))


def read_config_file(source: str | os.PathLike[str]) -> dict[str, Any]:
    """The mapping in YAML (or JSON) file ``source``, not merged with anything (an empty
    file is ``{}``)."""
    from .serialization import read_yaml

    try:
        data = read_yaml(source, "model config", ParameterError)
    except FileNotFoundError as exc:
        raise ParameterError(str(exc)) from None
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ParameterError(f"model config {source}: top level must be a mapping")
    return dict(data)


@dataclass
class ModelResult:
    """What :meth:`HTMModel.run` returns for one record."""

    value: float
    predictions: dict[int, float] = field(default_factory=dict)
    confidences: dict[int, float] = field(default_factory=dict)
    anomaly_score: float = 0.0
    anomaly_likelihood: float = 0.5
    log_likelihood: float = 0.0


class HTMModel(Persistable):
    """A streaming HTM model for one numeric field (plus an optional timestamp).

    Parameters
    ----------
    config : dict, path to a YAML file, or None
        Merged over :data:`DEFAULT_CONFIG` (see the module docstring for the layout).

    Raises
    ------
    ParameterError
        A bad setting, named by its section and key; or no way to derive the value resolution.

    Examples
    --------
    >>> model = HTMModel({"value": {"encoder": {"minimum": 0, "maximum": 100}}})
    >>> result = model.run({"value": 42.0, "timestamp": "2026-01-01 10:00"})
    """

    def __init__(self, config: str | os.PathLike[str] | Mapping[str, Any] | None = None):
        self.config = load_config(config)
        self._build()

    # ------------------------------------------------------------------ construction
    @classmethod
    def for_data(cls, values: Any, config: Mapping[str, Any] | None = None) -> HTMModel:
        """A model whose value resolution comes from the range of ``values`` (a sample of
        the stream, e.g. the whole CSV column), unless ``config`` sets it."""
        cfg = load_config(config)
        arr = np.asarray(values, dtype=np.float64)
        arr = arr[np.isfinite(arr)]
        enc = cfg["value"]["encoder"]
        if arr.size and enc.get("resolution") is None:
            if enc.get("minimum") is None:
                enc["minimum"] = float(arr.min())
            if enc.get("maximum") is None:
                enc["maximum"] = float(arr.max())
        return cls(cfg)

    def _section(self, name: str) -> dict[str, Any]:
        sec = self.config.get(name)
        if not isinstance(sec, Mapping):
            raise ParameterError(f"model config section {name!r} must be a mapping")
        return dict(sec)

    def _build(self) -> None:
        from .anomaly import AnomalyLikelihood
        from .encoders import RDSE, DateEncoder
        from .spatial_pooler import SpatialPooler

        seed = self.config.get("seed", 42)
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise ParameterError(f"seed must be an integer, got {seed!r}")
        venc = dict(self._section("value").get("encoder") or {})
        resolution = venc.pop("resolution", None)
        minimum = venc.pop("minimum", None)
        maximum = venc.pop("maximum", None)
        buckets = venc.pop("buckets", 130)
        min_res = venc.pop("min_resolution", 0.001)
        if resolution is None:
            if minimum is None or maximum is None:
                raise ParameterError(
                    "value.encoder.resolution is not set and cannot be derived: give "
                    "value.encoder.minimum and maximum, or build with HTMModel.for_data(values)"
                )
            resolution = max(float(min_res), (float(maximum) - float(minimum)) / float(buckets))
        self.resolution = float(resolution)
        try:
            value_encoder = RDSE(resolution=self.resolution, **venc)
        except (ParameterError, TypeError) as exc:
            raise ParameterError(f"value.encoder: {exc}") from None
        tenc = dict(self._section("timestamp").get("encoder") or {})
        date_encoder = None
        if _time_enabled(tenc):
            try:
                date_encoder = DateEncoder(**tenc)
            except (ParameterError, TypeError) as exc:
                raise ParameterError(f"timestamp.encoder: {exc}") from None
        input_size = value_encoder.size + (date_encoder.size if date_encoder else 0)
        sp_cfg = {"input_dimensions": [input_size], "potential_radius": input_size,
                  "seed": seed, **self._section("sp")}
        sp_cfg = {k: v for k, v in sp_cfg.items() if v is not None}
        try:
            sp = SpatialPooler(**sp_cfg)
        except (ParameterError, TypeError) as exc:
            raise ParameterError(f"sp: {exc}") from None
        tm_cfg = {"column_dimensions": list(sp.params.column_dimensions), "seed": seed,
                  **self._section("tm")}
        tm_cls = tm_class(tm_cfg.pop("implementation", "temporal_memory"))
        try:
            tm = tm_cls(**tm_cfg)
        except (ParameterError, TypeError) as exc:
            raise ParameterError(f"tm: {exc}") from None
        levels = self.config.get("levels", 1)
        if isinstance(levels, bool) or levels not in (1, 2):
            raise ParameterError(f"levels must be 1 or 2, got {levels!r}")
        level2 = None
        if levels == 2:
            from .temporal_pooler import TemporalPooler

            if tm_cls is not tm_class("temporal_memory"):
                raise ParameterError("levels: 2 needs tm.implementation 'temporal_memory' (the "
                                     "backtracking TM has no apical input)")
            l2 = dict(self.config.get("level2") or {})
            unknown = sorted(set(l2) - {"pool", "tm"})
            if unknown:
                raise ParameterError(f"level2: unknown key(s) {unknown} (known: pool, tm)")
            pool_cfg = {"column_dimensions": [512], "potential_pct": 0.05,
                        "active_sparsity": 0.2, "winner_sparsity": 0.02, "decay_rate": 0.1,
                        "active_weight": 1.0, "boost_strength": 0.0, "max_new_synapses": 0,
                        "seed": seed + 1,
                        **dict(l2.get("pool") or {}), "input_size": tm.num_cells}
            try:
                pool = TemporalPooler(**pool_cfg)
            except (ParameterError, TypeError) as exc:
                raise ParameterError(f"level2.pool: {exc}") from None
            top_cfg = {"cells_per_column": 4, "activation_threshold": 8, "min_threshold": 6,
                       "max_new_synapse_count": 12, "seed": seed + 2,
                       **dict(l2.get("tm") or {}),
                       "column_dimensions": list(pool.params.column_dimensions)}
            try:
                top = tm_cls(**top_cfg)
                tm = tm_cls(**{**tm_cfg, "external_apical_size": top.num_cells})
            except (ParameterError, TypeError) as exc:
                raise ParameterError(f"level2.tm: {exc}") from None
            level2 = (pool, top)
        pcfg = self._section("predictor")
        steps = pcfg.get("steps", [1])
        steps = tuple(steps) if isinstance(steps, (list, tuple)) else (steps,)
        predictor = self._build_predictor(steps, pcfg, tm.num_cells) if steps else None
        try:
            likelihood = AnomalyLikelihood(**self._section("likelihood"))
        except (ParameterError, TypeError) as exc:
            raise ParameterError(f"likelihood: {exc}") from None
        self.network = build_network(value_encoder, date_encoder, sp, tm, predictor,
                                     likelihood, level2)
        self._bind()
        self.records = 0

    def _build_predictor(self, steps: tuple[int, ...], pcfg: dict[str, Any],
                         input_size: int) -> Any:
        from .predictor import ScalarPredictor

        try:
            return ScalarPredictor(
                steps=steps,
                resolution=float(pcfg.get("resolution") or self.resolution),
                alpha=float(pcfg.get("alpha", 0.1)),
                input_size=input_size,
            )
        except (ParameterError, TypeError, ValueError) as exc:
            raise ParameterError(f"predictor: {exc}") from None

    def _bind(self) -> None:
        """Shortcuts to the network's regions and their algorithms."""
        net = self.network
        self._tm_region = net["tm"]
        self._predictor_region = net["predictor"] if "predictor" in net else None
        self._likelihood_region = net["likelihood"]
        self._timed = "timestamp" in net

    # the algorithms inside the network
    @property
    def value_encoder(self) -> Any:
        """The value's :class:`~htmkit.encoders.RDSE` (region ``"value"``)."""
        return self.network["value"].core

    @property
    def date_encoder(self) -> Any:
        """The timestamp's :class:`~htmkit.encoders.DateEncoder` (region ``"timestamp"``), or
        ``None`` when the model ignores time."""
        return self.network["timestamp"].core if "timestamp" in self.network else None

    @property
    def input_size(self) -> int:
        """Bits of the Spatial Pooler's input (value bits, then timestamp bits)."""
        return int(self.network.input_shape("sp")[0])

    @property
    def sp(self) -> Any:
        """The :class:`~htmkit.spatial_pooler.SpatialPooler` (region ``"sp"``)."""
        return self.network["sp"].core

    @property
    def tm(self) -> Any:
        """The Temporal Memory (region ``"tm"``)."""
        return self._tm_region.core

    @property
    def predictor(self) -> Any:
        """The :class:`~htmkit.predictor.ScalarPredictor` (region ``"predictor"``), or
        ``None`` when ``predictor.steps`` is empty."""
        return None if self._predictor_region is None else self._predictor_region.core

    @property
    def likelihood(self) -> Any:
        """The :class:`~htmkit.anomaly.AnomalyLikelihood` (region ``"likelihood"``)."""
        return self._likelihood_region.core

    # ------------------------------------------------------------------ running
    @property
    def steps(self) -> tuple[int, ...]:
        """Prediction steps (empty when the predictor is switched off with ``steps: []``)."""
        return self.predictor.steps if self.predictor is not None else ()

    def encode(self, value: float | None, timestamp: Any = None) -> SDR:
        """The SP input for one record (value bits, then timestamp bits)."""
        try:
            v = self.value_encoder.encode(value)
        except (TypeError, InputError) as exc:
            raise type(exc)(f"value: {exc}") from None
        if self.date_encoder is None:
            return v
        if timestamp is None:
            raise InputError("timestamp: this model encodes time, but the record has none")
        try:
            t = self.date_encoder.encode(timestamp)
        except (TypeError, InputError) as exc:
            raise type(exc)(f"timestamp: {exc}") from None
        return SDR.concatenate([v, t])

    def run(self, record: Mapping[str, Any] | tuple[Any, Any] | float,
            learn: bool = True) -> ModelResult:
        """Feed one record and return predictions and anomaly.

        ``record`` is a mapping with ``"value"`` (and ``"timestamp"`` when the model encodes
        time), a ``(timestamp, value)`` pair, or a bare number.
        """
        if isinstance(record, Mapping):
            if "value" not in record:
                raise InputError("record has no 'value' field")
            value, timestamp = record["value"], record.get("timestamp")
        elif isinstance(record, tuple):
            if len(record) != 2:
                raise InputError("a record tuple must be (timestamp, value)")
            timestamp, value = record
        else:
            value, timestamp = record, None
        if value is not None and not isinstance(value, (int, float, np.integer, np.floating)):
            raise InputTypeError(f"value: expected a number, got {type(value).__name__}")
        return self._step(value, timestamp, learn, None)

    def _step(self, value: Any, timestamp: Any, learn: bool, ensemble_raw: Any) -> ModelResult:
        """One record through the network; ``ensemble_raw``: raw scores of other models whose
        median with this one's feeds the likelihood (see :class:`AnomalyDetector`)."""
        fvalue = float("nan") if value is None else float(value)
        missing = not math.isfinite(fvalue)
        v = None if missing else fvalue
        inputs: dict[str, Any] = {"value": v}
        if self._timed:
            if timestamp is None:
                raise InputError("timestamp: this model encodes time, but the record has none")
            inputs["timestamp"] = timestamp
        if self._predictor_region is not None:
            inputs["predictor"] = v
        inputs["likelihood"] = {"value": v, "timestamp": timestamp,
                                "ensemble_raw": ensemble_raw}
        self.network.run(inputs, learn)
        lk = self._likelihood_region
        preds = self._predictor_region.predictions if self._predictor_region is not None else {}
        self.records += 1
        return ModelResult(
            value=fvalue,
            predictions={k: float(p.value) for k, p in preds.items()},
            confidences={k: float(p.confidence) for k, p in preds.items()},
            anomaly_score=lk.raw_anomaly,
            anomaly_likelihood=lk.likelihood,
            log_likelihood=lk.log_likelihood,
        )

    def reset(self) -> None:
        """Start a new sequence (TM and predictor history); learning is kept."""
        self.network.reset()

    # ------------------------------------------------------------------ state
    def get_state(self) -> dict[str, Any]:
        return {"config": self.config, "records": self.records,
                "network": self.network.get_state()}

    #: 2: the model is a network (``network``); 1 (the first release): one state per algorithm.
    STATE_VERSION = 2

    @classmethod
    def _upgrade_state(cls, state: dict[str, Any], from_version: int) -> dict[str, Any]:
        if from_version == 1:  # one state per algorithm -> the network around them
            network = _network_from_components(state, state["config"])
            return {"config": state["config"], "records": state["records"],
                    "network": network.get_state()}
        return super()._upgrade_state(state, from_version)

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> HTMModel:
        """Rebuild a model from :meth:`get_state` (files of the first release are upgraded, see
        :meth:`_upgrade_state`)."""
        from .network import Network

        obj = cls.__new__(cls)
        obj.config = state["config"]
        obj.records = int(state["records"])
        obj.network = Network.from_state(state["network"])
        obj.resolution = float(obj.value_encoder.params.resolution)
        obj._bind()
        return obj

    def __repr__(self) -> str:
        return (f"HTMModel(input={self.input_size}, columns={self.sp.params.column_dimensions}, "
                f"cells/column={self.tm.params.cells_per_column}, steps={self.steps}, "
                f"records={self.records})")

def _time_enabled(tenc: Mapping[str, Any]) -> bool:
    """Whether the ``timestamp.encoder`` section ``tenc`` enables a date field (a width
    ``> 0``). Every key is checked first against :class:`~htmkit.encoders.DateEncoderParams`
    (its fields and their declared constraints), so a bad setting raises
    :class:`ParameterError` naming it even when the section switches time off."""
    import dataclasses

    from .encoders.date import DateEncoderParams
    from .params import validate_values

    fields = {f.name for f in dataclasses.fields(DateEncoderParams)}
    unknown = sorted(set(tenc) - fields)
    if unknown:
        raise ParameterError(f"timestamp.encoder: unknown key(s) {unknown} "
                             f"(known: {sorted(fields)})")
    try:
        checked = validate_values(DateEncoderParams._parameter_constraints, tenc)
    except ParameterError as exc:
        raise ParameterError(f"timestamp.encoder: {exc}") from None
    return any(v > 0 for k, v in checked.items() if k.endswith("_width"))


def build_network(value_encoder: Any, date_encoder: Any, sp: Any, tm: Any, predictor: Any,
                  likelihood: Any, level2: tuple[Any, Any] | None = None) -> Any:
    """The model's :class:`~htmkit.network.Network` around built algorithms.

    Regions: ``value`` (and ``timestamp``) encoders -> ``sp`` -> ``tm`` -> ``predictor``
    (when given); ``likelihood`` takes the SP's active columns and the TM's
    ``unpredicted_columns`` (the raw anomaly) plus the record. ``level2`` (a temporal pooler
    and a Temporal Memory) adds the regions ``pool`` and ``level2`` and the apical link from
    ``level2`` back into ``tm``.
    """
    from .backtracking_tm import BacktrackingTemporalMemory
    from .network import (
        AnomalyLikelihoodRegion,
        BacktrackingTMRegion,
        EncoderSensor,
        Network,
        ScalarPredictorRegion,
        SpatialPoolerRegion,
        TemporalMemoryRegion,
        TemporalPoolerRegion,
    )

    net = Network("htm-model")
    net.add_region("value", EncoderSensor(value_encoder, field="value"))
    if date_encoder is not None:
        net.add_region("timestamp", EncoderSensor(date_encoder, field="timestamp"))
    net.add_region("sp", SpatialPoolerRegion(sp))
    tm_region = (BacktrackingTMRegion(tm) if isinstance(tm, BacktrackingTemporalMemory)
                 else TemporalMemoryRegion(tm))
    net.add_region("tm", tm_region)
    if predictor is not None:
        net.add_region("predictor", ScalarPredictorRegion(
            predictor, input_shape=tm_region.output_shape))
    net.add_region("likelihood", AnomalyLikelihoodRegion(
        likelihood, input_shape=tuple(sp.params.column_dimensions)))
    net.link("value", "sp")
    if date_encoder is not None:
        net.link("timestamp", "sp")
    net.link("sp", "tm")
    if predictor is not None:
        net.link("tm", "predictor")
    net.link("sp", "likelihood")
    net.link("tm", "likelihood", "unpredicted", output="unpredicted_columns")
    if level2 is not None:
        net.add_region("pool", TemporalPoolerRegion(level2[0], learn=False))
        net.add_region("level2", TemporalMemoryRegion(level2[1]))
        net.link("tm", "pool", output="active_cells")
        net.link("tm", "pool", "predicted", output="predicted_active_cells")
        net.link("pool", "level2")
        net.link("level2", "tm", "apical", delay=1)
    net.validate()
    return net


def _network_from_components(state: Mapping[str, Any], config: Mapping[str, Any]) -> Any:
    """The network of a model state in the layout before networks (``value_encoder``,
    ``date_encoder``, ``sp``, ``tm``, ``predictor``, ``likelihood``)."""
    from .anomaly import AnomalyLikelihood
    from .encoders import RDSE, DateEncoder
    from .predictor import ScalarPredictor
    from .spatial_pooler import SpatialPooler

    value_encoder = RDSE.from_state(state["value_encoder"])
    date_encoder = (DateEncoder.from_state(state["date_encoder"])
                    if state.get("date_encoder") is not None else None)
    sp = SpatialPooler.from_state(state["sp"])
    tm_cfg = config.get("tm") or {}
    tm = tm_class(tm_cfg.get("implementation", "temporal_memory")).from_state(state["tm"])
    predictor = (ScalarPredictor.from_state(state["predictor"])
                 if state.get("predictor") is not None else None)
    likelihood = AnomalyLikelihood.from_state(state["likelihood"])
    return build_network(value_encoder, date_encoder, sp, tm, predictor, likelihood)
