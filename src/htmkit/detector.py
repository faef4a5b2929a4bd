"""A ready streaming anomaly detector: ``detector.update(timestamp, value) -> score``.

:class:`AnomalyDetector` is the HTM anomaly detector of Numenta's NAB entry, rebuilt on
htmkit: value (RDSE) + time of day (DateEncoder) -> Spatial Pooler -> Temporal Memory ->
raw anomaly -> :class:`~htmkit.anomaly.AnomalyLikelihood` -> log-likelihood score in [0, 1],
plus an optional spatial-anomaly check (a value well outside everything seen so far scores 1).
The defaults need no tuning per stream; the same seed gives the same scores.

Value range: give ``min_value``/``max_value`` (NAB passes each series' range), or leave them
out and the detector holds the first ``calibration_records`` records, derives the range from
them, builds the model and replays them (those first records score 0.0).
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from .errors import InputError, ParameterError
from .serialization import Persistable

__all__ = ["AnomalyDetector", "DETECTOR_CONFIG"]

#: Model configuration of the detector (Numenta's NAB parameters for scalar + time of day).
DETECTOR_CONFIG: dict[str, Any] = {
    "value": {"encoder": {"size": 400, "active_bits": 21, "buckets": 130,
                          "min_resolution": 0.001, "seed": 1}},
    "timestamp": {"encoder": {"time_of_day_width": 21, "time_of_day_radius": 9.49}},
    "sp": {
        "column_dimensions": [2048],
        "num_active_columns_per_inh_area": 40,
        "global_inhibition": True,
        "potential_pct": 0.8,
        "syn_perm_connected": 0.2,
        "syn_perm_active_inc": 0.003,
        "syn_perm_inactive_dec": 0.0005,
        "boost_strength": 0.0,
    },
    "tm": {
        "cells_per_column": 32,
        "activation_threshold": 20,
        "min_threshold": 13,
        "max_new_synapse_count": 31,
        "initial_permanence": 0.21,
        "connected_permanence": 0.5,
        "permanence_increment": 0.1,
        "permanence_decrement": 0.1,
        "predicted_segment_decrement": 0.0,
        "max_segments_per_cell": 128,
        "max_synapses_per_segment": 128,
    },
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
        1.0 (NAB's spatial anomaly check); ``None`` switches the check off.
    config : dict, optional
        Overrides merged over :data:`DETECTOR_CONFIG` (see :mod:`htmkit.model`).
    use_timestamp : bool
        Encode the time of day (timestamps required in :meth:`update`).
    """

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
    ):
        if int(probationary_period) < 2:
            raise ParameterError(f"probationary_period must be >= 2, got {probationary_period}")
        if spatial_tolerance is not None and not 0 <= float(spatial_tolerance) < 10:
            raise ParameterError(f"spatial_tolerance must be in [0, 10), got {spatial_tolerance}")
        if int(calibration_records) < 1:
            raise ParameterError(f"calibration_records must be >= 1, got {calibration_records}")
        if (min_value is None) != (max_value is None):
            raise ParameterError("give both min_value and max_value, or neither")
        if min_value is not None and not float(min_value) <= float(max_value):
            raise ParameterError(f"min_value {min_value} is above max_value {max_value}")
        self.settings = {
            "probationary_period": int(probationary_period),
            "seed": int(seed),
            "spatial_tolerance": None if spatial_tolerance is None else float(spatial_tolerance),
            "config": copy.deepcopy(config) if config else {},
            "use_timestamp": bool(use_timestamp),
            "calibration_records": int(calibration_records),
            "range_padding": float(range_padding),
        }
        self.model = None
        self._held: list[tuple[Any, float]] = []
        self._seen_min = math.nan
        self._seen_max = math.nan
        self.records = 0
        if min_value is not None:
            self._build(float(min_value), float(max_value))

    @classmethod
    def for_nab(cls, *, min_value: float, max_value: float, probationary_period: int,
                seed: int) -> AnomalyDetector:
        """The detector as NAB builds it (series range and probation given)."""
        return cls(min_value=min_value, max_value=max_value,
                   probationary_period=probationary_period, seed=seed)

    def _build(self, lo: float, hi: float) -> None:
        from .model import HTMModel, _merge

        pad = abs(hi - lo) * self.settings["range_padding"]
        prob = self.settings["probationary_period"]
        learning = prob // 2
        cfg = _merge(DETECTOR_CONFIG, self.settings["config"]) if self.settings["config"] \
            else copy.deepcopy(DETECTOR_CONFIG)
        cfg["value"]["encoder"]["minimum"] = lo - pad
        cfg["value"]["encoder"]["maximum"] = hi + pad
        cfg["seed"] = self.settings["seed"]
        cfg.setdefault("likelihood", {})
        cfg["likelihood"] = {"learning_period": learning,
                             "estimation_samples": prob - learning,
                             "reestimation_period": 100, **cfg["likelihood"]}
        if not self.settings["use_timestamp"]:
            cfg["timestamp"]["encoder"] = {k: 0 for k in cfg["timestamp"]["encoder"]
                                           if k.endswith("_width")}
        self.model = HTMModel(cfg)

    def update(self, timestamp: Any, value: float) -> float:
        """Score one record; returns the anomaly score in [0, 1] (log-likelihood scale)."""
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer,
                                                             np.floating)):
            raise TypeError(f"value must be a number, got {type(value).__name__}")
        v = float(value)
        if not math.isfinite(v):
            raise InputError(f"value must be finite, got {value!r}")
        self.records += 1
        if self.model is None:
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
        return self._score(timestamp, v)

    def _score(self, timestamp: Any, v: float) -> float:
        tol = self.settings["spatial_tolerance"]
        spatial = False
        if tol is not None and math.isfinite(self._seen_min) and self._seen_max > self._seen_min:
            span = (self._seen_max - self._seen_min) * tol
            spatial = v > self._seen_max + span or v < self._seen_min - span
        if not math.isfinite(self._seen_min) or v < self._seen_min:
            self._seen_min = v
        if not math.isfinite(self._seen_max) or v > self._seen_max:
            self._seen_max = v
        rec = {"value": v, "timestamp": timestamp} if self.settings["use_timestamp"] else v
        result = self.model.run(rec)
        score = result.log_likelihood
        return 1.0 if spatial else float(min(max(score, 0.0), 1.0))

    def handle_record(self, timestamp: Any, value: float) -> float:
        """NAB's name for :meth:`update`."""
        return self.update(timestamp, value)

    # ------------------------------------------------------------------ state
    def get_state(self) -> dict[str, Any]:
        return {
            "settings": self.settings,
            "records": self.records,
            "seen": [self._seen_min, self._seen_max],
            "held_values": np.array([x for _, x in self._held], dtype=np.float64),
            "held_times": [str(t) for t, _ in self._held],
            "model": self.model.get_state() if self.model is not None else None,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> AnomalyDetector:
        from .model import HTMModel

        obj = cls.__new__(cls)
        obj.settings = state["settings"]
        obj.records = int(state["records"])
        obj._seen_min, obj._seen_max = (float(x) for x in state["seen"])
        import pandas as pd

        obj._held = [(pd.Timestamp(t), float(v))
                     for t, v in zip(state["held_times"], state["held_values"], strict=True)]
        obj.model = HTMModel.from_state(state["model"]) if state["model"] is not None else None
        return obj
