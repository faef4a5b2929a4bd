"""Networks of HTM regions: sensors, spatial poolers, temporal memories, temporal poolers and
classifiers wired into hierarchies.

* :class:`Network` -- add regions by name, ``link(source, target, kind=...)`` them (fan-in
  with topology-preserving tiling, fan-out, delayed feedback), ``run(inputs)`` one step at a
  time in topological order; ``from_config`` / ``to_config`` (dict or YAML), ``save`` /
  ``load`` (safe format), ``print(network)``, ``draw(path)``.
* :class:`Region` -- the interface of a region; :class:`RegionBase` and the adapters
  :class:`SDRSensor`, :class:`EncoderSensor`, :class:`SpatialPoolerRegion`,
  :class:`TemporalMemoryRegion`, :class:`TemporalPoolerRegion`, :class:`ClassifierRegion`;
  the streaming models' regions :class:`BacktrackingTMRegion`, :class:`ScalarPredictorRegion`
  and :class:`AnomalyLikelihoodRegion`.
"""

from __future__ import annotations

from .network import DEFAULT_DELAY, Link, Network, NetworkError
from .regions import (
    REGION_TYPES,
    TM_OUTPUTS,
    ClassifierRegion,
    EncoderSensor,
    Region,
    RegionBase,
    SDRSensor,
    SpatialPoolerRegion,
    TemporalMemoryRegion,
    TemporalPoolerRegion,
    region_type,
    register_region_type,
)
from .streaming import (
    BACKTRACKING_TM_OUTPUTS,
    AnomalyLikelihoodRegion,
    BacktrackingTMRegion,
    ScalarPredictorRegion,
)

__all__ = [
    "Network",
    "Link",
    "NetworkError",
    "DEFAULT_DELAY",
    "Region",
    "RegionBase",
    "SDRSensor",
    "EncoderSensor",
    "SpatialPoolerRegion",
    "TemporalMemoryRegion",
    "TemporalPoolerRegion",
    "ClassifierRegion",
    "BacktrackingTMRegion",
    "ScalarPredictorRegion",
    "AnomalyLikelihoodRegion",
    "BACKTRACKING_TM_OUTPUTS",
    "REGION_TYPES",
    "TM_OUTPUTS",
    "register_region_type",
    "region_type",
]
