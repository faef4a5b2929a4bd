"""A ready streaming anomaly detector: ``detector.update(timestamp, value) -> score``.

:class:`AnomalyDetector` is the HTM anomaly detector of Numenta's NAB entry, rebuilt on
htmkit: value (RDSE) + time of day (DateEncoder) -> Spatial Pooler -> Temporal Memory ->
raw anomaly -> :class:`~htmkit.anomaly.AnomalyLikelihood` -> log-likelihood score in [0, 1],
plus an optional spatial-anomaly check (a value well outside everything seen so far scores 1).
The defaults need no tuning per stream; the same seed gives the same scores.

Value range: give ``min_value``/``max_value`` (NAB passes each series' range), or leave them
out and the detector holds the first ``calibration_records`` records, derives the range from
them, builds the model and replays them (those first records score zero).

The Temporal Memory is NuPIC's backtracking TM (:mod:`htmkit.backtracking_tm`, the parameters
of Numenta's NAB entry, ``htmkit.backtracking_tm.NAB_PARAMS``) without NuPIC's forced restart of
learning every 32 inputs (``max_seq_length: 0``); the likelihood settings are NAB's own, and a
refractory period follows each alarm (:data:`DEFAULT_SUPPRESSION`). Pass
``config={"tm": {"implementation": "temporal_memory"}}`` for the BAMI Temporal Memory: the
``tm`` section then starts from that TM's parameters (:data:`TM_SECTIONS`), and the other
settings are given as arguments. ``ensemble=k`` runs ``k`` models and feeds the median of their
raw anomaly scores to one likelihood.

The detector runs its model's :class:`~htmkit.network.Network` (``detector.network``); the
spatial check and the refractory period are options of its ``likelihood`` region, so their state
is saved with the network. What stays here is the layer above: holding the first records to
derive the value range, and the ensemble's other models, whose raw anomalies join the
likelihood region's input.

Defaults chosen in docs/experiments/detector-defaults.md and the detector-* pages beside it.
"""

from __future__ import annotations

import copy
import math
from typing import Any, ClassVar

import numpy as np

from .backtracking_tm import NAB_PARAMS
from .encoders.date import to_datetime
from .errors import InputError, InputTypeError, ParameterError
from .model import DEFAULT_CONFIG
from .network.streaming import check_suppression
from .params import Boolean, Constraints, Custom, Interval, Optional, validate_values
from .serialization import Persistable

__all__ = ["AnomalyDetector", "DETECTOR_CONFIG", "DEFAULT_SUPPRESSION", "TM_SECTIONS"]

#: The detector's refractory period after an alarm, ``(level, records, factor)``: once a score
#: reaches ``level``, the likelihood scores of the next ``records`` records are multiplied by
#: ``factor`` (spatial anomalies still score one).
#: Chosen in docs/experiments/detector-refractory.md.
DEFAULT_SUPPRESSION: tuple[float, int, float] = (0.5, 210, 0.0)

#: The ``tm`` config section of each Temporal Memory implementation. A ``config`` whose ``tm``
#: names an ``implementation`` starts from that implementation's section here.
TM_SECTIONS: dict[str, dict[str, Any]] = {
    # NuPIC's backtracking TM with the parameters of Numenta's NAB entry
    # (htmkit.backtracking_tm.NAB_PARAMS), without the forced learning restart every 32 inputs
    "backtracking": {"implementation": "backtracking", **NAB_PARAMS, "max_seq_length": 0},
    # BAMI's Temporal Memory (the detector's default before the backtracking TM): HTMModel's
    # default TM section with the thresholds tuned for the detector
    "temporal_memory": {
        **DEFAULT_CONFIG["tm"],
        "implementation": "temporal_memory",
        "activation_threshold": 20,
        "min_threshold": 13,
        "max_new_synapse_count": 31,
    },
}

#: Model configuration of the detector (Numenta's NAB parameters for scalar + time of day):
#: HTMModel's defaults (whose encoders and SP are those of Numenta's NAB entry) with the
#: backtracking TM section and no predictor.
DETECTOR_CONFIG: dict[str, Any] = {
    **copy.deepcopy(DEFAULT_CONFIG),
    "tm": copy.deepcopy(TM_SECTIONS["backtracking"]),
    "predictor": {"steps": []},
}


class AnomalyDetector(Persistable):
    """Streaming anomaly detector with defaults that need no per-stream tuning.

    Parameters
    ----------
    min_value, max_value : float, optional
        Expected range of the values (padded by ``range_padding`` of its width). When not
        given, the range comes from the first ``calibration_records`` records.
    probationary_period : int
        Records before scores are meaningful; half of it is the likelihood's learning period
        and the other half its estimation period (as in Numenta's NAB detector).
    seed : int
        Seed of every random part.
    spatial_tolerance : float or None
        A value beyond the running min/max by more than this fraction of the seen range scores
        one (NAB's spatial anomaly check); ``None`` switches the check off. The default is
        Numenta's NAB detector's (the BAMI TM had its own; see
        docs/experiments/detector-bami-history.md).
    config : dict, optional
        Overrides merged over :data:`DETECTOR_CONFIG` (see :mod:`htmkit.model`).
    use_timestamp : bool
        Encode the time of day (timestamps required in :meth:`update`).
    calibration_records : int
        Records held to derive the value range when ``min_value``/``max_value`` are not given.
    range_padding : float
        The encoder range is the value range widened by this fraction of its width each side.
    learning_fraction : float
        Fraction of ``probationary_period`` that is the likelihood's learning period (its raw
        scores are left out of the fitted distribution); the rest is its estimation period.
        The default is Numenta's NAB detector's (the BAMI TM had its own).
    likelihood_window : int
        Raw scores kept for re-fitting the likelihood's distribution (its
        ``historic_window_size``). The default is NuPIC's and NAB's (the BAMI TM had a shorter
        one, which follows changes of a stream's noise level sooner). Raised to the
        estimation period (``probationary_period`` minus the learning period) when shorter.
    averaging_window : int
        Raw scores averaged before the likelihood's tail probability (its
        ``averaging_window``). The default is NuPIC's and NAB's (chosen in
        docs/experiments/detector-ensembles.md).
    suppression : tuple (level, records, factor) or None
        Refractory period after an alarm: once an output score reaches ``level``, the
        likelihood scores of the next ``records`` records are multiplied by ``factor`` (in
        [0, 1]); a spatial anomaly still scores one, and a new alarm during that time does not
        restart it. Default :data:`DEFAULT_SUPPRESSION`. NAB credits only the first detection in
        a window and charges every later one outside it, which is why several NAB entries mute
        scores after an alarm; the length was fitted to NAB
        (docs/experiments/detector-refractory.md).
        ``None`` switches it off (the detector of Numenta's NAB entry).
    ensemble : int
        HTM models run side by side (seeds ``seed``, ``seed + 1``, ...; the same encoders);
        the likelihood is computed on the *median* of their raw anomaly scores. 1 (the
        default) is a single model. Three models cost three times as much (measured in
        docs/experiments/detector-ensembles.md).
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "min_value": Optional(Interval(float)),
        "max_value": Optional(Interval(float)),
        "probationary_period": Interval(int, 2),
        "seed": Interval(int, 0),
        "spatial_tolerance": Optional(Interval(float, 0.0, 10.0, closed="left")),
        "use_timestamp": Boolean(),
        "calibration_records": Interval(int, 1),
        "range_padding": Interval(float, 0.0),
        "learning_fraction": Interval(float, 0.0, 1.0, closed="left"),
        "likelihood_window": Interval(int, 1),
        "averaging_window": Interval(int, 1),
        "ensemble": Interval(int, 1, 15),
        "suppression": Custom(check_suppression, "(level, records, factor) or None"),
    }

    def __init__(
        self,
        min_value: float | None = None,
        max_value: float | None = None,
        probationary_period: int = 750,
        seed: int = 42,
        spatial_tolerance: float | None = 0.05,
        config: dict[str, Any] | None = None,
        use_timestamp: bool = True,
        calibration_records: int = 150,
        range_padding: float = 0.2,
        learning_fraction: float = 0.5,
        likelihood_window: int = 8640,
        averaging_window: int = 10,
        suppression: tuple[float, int, float] | None = DEFAULT_SUPPRESSION,
        ensemble: int = 1,
    ):
        checked = validate_values(self._parameter_constraints, dict(
            min_value=min_value, max_value=max_value, probationary_period=probationary_period,
            seed=seed, spatial_tolerance=spatial_tolerance, use_timestamp=use_timestamp,
            calibration_records=calibration_records, range_padding=range_padding,
            learning_fraction=learning_fraction, likelihood_window=likelihood_window,
            averaging_window=averaging_window, ensemble=ensemble, suppression=suppression))
        min_value, max_value = checked["min_value"], checked["max_value"]
        if (min_value is None) != (max_value is None):
            raise ParameterError("give both min_value and max_value, or neither")
        if (min_value is not None and max_value is not None
                and not float(min_value) <= float(max_value)):
            raise ParameterError(f"min_value {min_value} is above max_value {max_value}")
        self.settings: dict[str, Any] = {
            "probationary_period": checked["probationary_period"],
            "seed": checked["seed"],
            "spatial_tolerance": checked["spatial_tolerance"],
            "config": copy.deepcopy(config) if config else {},
            "use_timestamp": checked["use_timestamp"],
            "calibration_records": checked["calibration_records"],
            "range_padding": checked["range_padding"],
            "learning_fraction": checked["learning_fraction"],
            "likelihood_window": checked["likelihood_window"],
            "averaging_window": checked["averaging_window"],
            "suppression": checked["suppression"],
            "ensemble": checked["ensemble"],
        }
        self.model: Any = None
        self.members: list[Any] = []  # the ensemble's other models
        self._held: list[tuple[Any, float]] = []
        self.records = 0
        if min_value is not None and max_value is not None:
            self._build(float(min_value), float(max_value))

    @classmethod
    def for_nab(cls, *, min_value: float, max_value: float, probationary_period: int,
                seed: int, config: dict[str, Any] | None = None) -> AnomalyDetector:
        """The detector as NAB builds it (series range and probation given; ``config`` as
        in the constructor, e.g. from ``htmkit nab run --config``)."""
        return cls(min_value=min_value, max_value=max_value,
                   probationary_period=probationary_period, seed=seed, config=config)

    def _build(self, lo: float, hi: float) -> None:
        from .model import HTMModel, merge_config

        pad = abs(hi - lo) * self.settings["range_padding"]
        prob = self.settings["probationary_period"]
        learning = int(prob * self.settings.get("learning_fraction", 0.5))
        user = self.settings["config"]
        base = copy.deepcopy(DETECTOR_CONFIG)
        tm_user = user.get("tm") if isinstance(user.get("tm"), dict) else {}
        impl = tm_user.get("implementation", base["tm"]["implementation"])
        if impl != base["tm"]["implementation"]:
            # another TM: its section starts from that TM's defaults, not the backtracking one's
            base["tm"] = copy.deepcopy(TM_SECTIONS.get(impl, {"implementation": impl}))
        cfg = merge_config(base, user) if user else base
        cfg["value"]["encoder"]["minimum"] = lo - pad
        cfg["value"]["encoder"]["maximum"] = hi + pad
        cfg["seed"] = self.settings["seed"]
        cfg.setdefault("likelihood", {})
        cfg["likelihood"] = {"learning_period": learning,
                             "estimation_samples": prob - learning,
                             "reestimation_period": 100,
                             "averaging_window": self.settings.get("averaging_window", 10),
                             "historic_window_size": max(prob - learning,
                                                         self.settings.get("likelihood_window",
                                                                           8640)),
                             **cfg["likelihood"]}
        if not self.settings["use_timestamp"]:
            cfg["timestamp"]["encoder"] = {k: 0 for k in cfg["timestamp"]["encoder"]
                                           if k.endswith("_width")}
        self.model = HTMModel(cfg)
        self._configure_scoring()
        self.members = []
        for i in range(1, self.settings.get("ensemble", 1)):
            self.members.append(HTMModel({**copy.deepcopy(cfg), "seed": cfg["seed"] + i}))

    def _configure_scoring(self) -> None:
        """The spatial check and the refractory period live in the model's likelihood
        region (their state is saved with the network)."""
        self.model.network["likelihood"].configure(
            spatial_tolerance=self.settings["spatial_tolerance"],
            suppression=self.settings.get("suppression"))

    @property
    def network(self) -> Any:
        """The model's :class:`~htmkit.network.Network` (``None`` while the detector still
        holds records to derive the value range). With ``ensemble > 1`` the other models'
        networks are those of :attr:`members`; their raw anomalies join this network's
        likelihood region."""
        return None if self.model is None else self.model.network

    def update(self, timestamp: Any, value: float) -> float:
        """Score one record; returns the anomaly score in [0, 1] (log-likelihood scale)."""
        return self._update(timestamp, value, learn=True)

    def _update(self, timestamp: Any, value: float, learn: bool) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer,
                                                             np.floating)):
            raise InputTypeError(f"value must be a number, got {type(value).__name__}")
        v = float(value)
        if not math.isfinite(v):
            raise InputError(f"value must be finite, got {value!r}")
        if self.settings["use_timestamp"] and timestamp is None:
            raise InputError("timestamp: this detector encodes time (use_timestamp=True), "
                             "but the record has none")
        if self.model is not None:
            # the network checks every value of the record before any region changes
            score = self._score(timestamp, v, learn)
            self.records += 1
            return score
        if self.settings["use_timestamp"]:
            to_datetime(timestamp, "timestamp")  # a held record is encoded only later
        self.records += 1
        self._held.append((timestamp, v))
        if len(self._held) < self.settings["calibration_records"]:
            return 0.0
        vals = [x for _, x in self._held]
        self._build(min(vals), max(vals))
        held, self._held = self._held, []
        score = 0.0
        for t, x in held:
            score = self._score(t, x)
        return score

    def score(self, timestamp: Any, value: float) -> float:
        """The score :meth:`update` would return for this record now, leaving the detector
        exactly as it was (nothing learned, nothing counted; ``save`` gives the same bytes).

        The record runs one inference step (``learn=False``) on a trial copy of the detector
        that shares the learned state inference only reads (the Spatial Pooler's and the
        Temporal Memory's synapses, see their ``inference_static``) and copies the rest (the
        per-step state: active and predicted cells, the TM's histories, the likelihood's
        window, the spatial check and the refractory count). The score of a step does not
        depend on whether that step learns (learning changes what the *next* steps predict),
        so it equals the score of ``update(timestamp, value)``. While the detector still holds
        records to derive its value range (:attr:`network` is ``None``), the trial is a plain
        copy that runs :meth:`update`.
        """
        if self.model is None:
            return copy.deepcopy(self).update(timestamp, value)
        memo: dict[int, Any] = {}
        for model in (self.model, *self.members):
            for region in model.network.regions.values():
                static = getattr(region.core, "inference_static", None)
                for obj in static() if static is not None else ():
                    memo[id(obj)] = obj
        trial = copy.deepcopy(self, memo)
        return trial._update(timestamp, value, learn=False)

    def _score(self, timestamp: Any, v: float, learn: bool = True) -> float:
        stamp = timestamp if self.settings["use_timestamp"] else None
        others = None
        if self.members:
            rec = {"value": v, "timestamp": timestamp} if self.settings["use_timestamp"] else v
            others = [m.run(rec, learn).anomaly_score for m in self.members]
        self.model._step(v, stamp, learn, others)
        return float(self.model.network["likelihood"].score)

    # ------------------------------------------------------------------ state
    def get_state(self) -> dict[str, Any]:
        return {
            "settings": self.settings,
            "records": self.records,
            "held_values": np.array([x for _, x in self._held], dtype=np.float64),
            "held_times": [str(t) for t, _ in self._held],
            "model": self.model.get_state() if self.model is not None else None,
            "members": [m.get_state() for m in self.members],
        }

    #: 2: the scoring state lives in the model's likelihood region; 1 (the first release): the
    #: spatial-check range, refractory count and ensemble likelihood beside the models.
    STATE_VERSION = 2

    @classmethod
    def _upgrade_state(cls, state: dict[str, Any], from_version: int) -> dict[str, Any]:
        if from_version != 1:
            return super()._upgrade_state(state, from_version)
        from .anomaly import AnomalyLikelihood
        from .model import HTMModel

        out = dict(state)
        seen = out.pop("seen", None)
        suppress_left = int(out.pop("suppress_left", 0))
        ensemble_likelihood = out.pop("ensemble_likelihood", None)
        if out["model"] is not None:
            old = cls.__new__(cls)
            old.settings = out["settings"]
            old.model = HTMModel.from_state(out["model"])  # upgrades the model's own layout
            old._configure_scoring()
            region = old.model.network["likelihood"]
            if seen is not None:
                region._seen_min, region._seen_max = (float(x) for x in seen)
            region._suppress_left = suppress_left
            if ensemble_likelihood is not None:
                region.core = AnomalyLikelihood.from_state(ensemble_likelihood)
            out["model"] = old.model.get_state()
        return out

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> AnomalyDetector:
        """Rebuild a detector from :meth:`get_state` (files of the first release are upgraded,
        see :meth:`_upgrade_state`)."""
        from .model import HTMModel

        obj = cls.__new__(cls)
        obj.settings = state["settings"]
        obj.records = int(state["records"])
        import pandas as pd

        obj._held = [(pd.Timestamp(t), float(v))
                     for t, v in zip(state["held_times"], state["held_values"], strict=True)]
        obj.model = HTMModel.from_state(state["model"]) if state["model"] is not None else None
        obj.members = [HTMModel.from_state(m) for m in state.get("members", [])]
        return obj
