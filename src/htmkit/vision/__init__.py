"""Vision: turning still images into movies for HTM, and (in :mod:`htmkit.vision.hierarchy`) a
hierarchy of HTM regions that learns them. :mod:`htmkit.vision.transforms` moves, noises and
occludes batches of images; :mod:`htmkit.vision.plots` shows what a hierarchy learned.
:mod:`htmkit.vision.model` holds :class:`Hierarchy`, one hierarchical temporal model on
:class:`~htmkit.network.Network` (eye with a motor output, SP -> TM -> pooler per level,
apical feedback, evidence over glimpses), declared in YAML.

Names are imported lazily on first access; add an entry to ``_LAZY`` to export more.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> module that defines it
_LAZY = {
    "Eye": "htmkit.vision.eye",
    "Movie": "htmkit.vision.eye",
    "VisionHierarchy": "htmkit.vision.hierarchy",
    "HierarchyParams": "htmkit.vision.hierarchy",
    "EyeParams": "htmkit.vision.hierarchy",
    "LevelParams": "htmkit.vision.hierarchy",
    "SynapseParams": "htmkit.vision.hierarchy",
    "SequenceParams": "htmkit.vision.hierarchy",
    "ReadoutParams": "htmkit.vision.hierarchy",
    "Hierarchy": "htmkit.vision.model",
    "EyeRegion": "htmkit.vision.model",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'htmkit.vision' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(__all__) | {"eye", "hierarchy", "model", "plots", "transforms"})
