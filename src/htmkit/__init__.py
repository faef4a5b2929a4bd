"""htmkit: Hierarchical Temporal Memory — SDRs, encoders, Spatial Pooler, Temporal Memory,
hierarchies of regions, and benchmarks against CNN/LSTM baselines.

Heavy submodules (numba kernels, torch baselines) are imported lazily on first attribute access,
so ``import htmkit`` and ``htmkit --help`` stay fast.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__

# public name -> module that defines it
_LAZY = {
    "SDR": "htmkit.sdr",
    "Metrics": "htmkit.metrics",
    "SpatialPooler": "htmkit.spatial_pooler",
    "SpatialPoolerParams": "htmkit.spatial_pooler",
    "TemporalMemory": "htmkit.temporal_memory",
    "TemporalMemoryParams": "htmkit.temporal_memory",
    "BacktrackingTemporalMemory": "htmkit.backtracking_tm",
    "BacktrackingTemporalMemoryParams": "htmkit.backtracking_tm",
    "Predictor": "htmkit.predictor",
    "AnomalyLikelihood": "htmkit.anomaly",
    "HTMModel": "htmkit.model",
    "AnomalyDetector": "htmkit.detector",
    "TemporalPooler": "htmkit.temporal_pooler",
    "SynapseStore": "htmkit.synapses",
    "set_memory_limit": "htmkit.params",
    "get_memory_limit": "htmkit.params",
    "encoders": "htmkit.encoders",
    "anomaly": "htmkit.anomaly",
    "network": "htmkit.network",
    "vision": "htmkit.vision",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'htmkit' has no attribute {name!r}")
    mod = importlib.import_module(module)
    value = mod if module.endswith("." + name) else getattr(mod, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
