"""Helpers for validated parameter dataclasses.

Every algorithm keeps its parameters in a frozen dataclass whose ``__post_init__`` calls the
checks below, so a bad value fails at construction with a message naming the parameter.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

from .errors import ParameterError


def check_int(name: str, value: Any, *, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as int, raising :class:`ParameterError` naming ``name`` if invalid."""
    if isinstance(value, bool) or not isinstance(value, (int,)) and not (
        hasattr(value, "__index__")
    ):
        raise ParameterError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if low is not None and value < low:
        raise ParameterError(f"{name} must be >= {low}, got {value}")
    if high is not None and value > high:
        raise ParameterError(f"{name} must be <= {high}, got {value}")
    return value


def check_float(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as float within the given bounds, else :class:`ParameterError`."""
    if isinstance(value, bool):
        raise ParameterError(f"{name} must be a number, got {value!r}")
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(f):
        raise ParameterError(f"{name} must be finite, got {value!r}")
    if low is not None and (f < low or (low_open and f == low)):
        op = ">" if low_open else ">="
        raise ParameterError(f"{name} must be {op} {low}, got {f}")
    if high is not None and (f > high or (high_open and f == high)):
        op = "<" if high_open else "<="
        raise ParameterError(f"{name} must be {op} {high}, got {f}")
    return f


def check_shape(name: str, value: Any) -> tuple[int, ...]:
    """Return a dimensions tuple of positive ints from an int or a sequence of ints."""
    if isinstance(value, (int,)) and not isinstance(value, bool):
        dims: Sequence[Any] = (value,)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        dims = value
    elif hasattr(value, "__index__"):
        dims = (int(value),)
    else:
        raise ParameterError(f"{name} must be an int or a sequence of ints, got {value!r}")
    if len(dims) == 0:
        raise ParameterError(f"{name} must have at least one dimension")
    out = tuple(check_int(f"{name}[{i}]", d, low=1) for i, d in enumerate(dims))
    return out


def params_to_dict(params: Any) -> dict[str, Any]:
    """Dataclass parameters as a JSON-able dict (tuples become lists)."""
    out = {}
    for f in dataclasses.fields(params):
        v = getattr(params, f.name)
        out[f.name] = list(v) if isinstance(v, tuple) else v
    return out


def params_from_dict(cls: type, data: dict[str, Any]) -> Any:
    """Rebuild a parameter dataclass from :func:`params_to_dict` output (validates again)."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ParameterError(f"unknown parameter(s) for {cls.__name__}: {sorted(unknown)}")
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            v = data[f.name]
            kwargs[f.name] = tuple(v) if isinstance(v, list) else v
    return cls(**kwargs)


# ---------------------------------------------------------------------------- NuPIC's numbers
#: NuPIC's Temporal Memory parameter set, in htmkit's names: the defaults of NuPIC's and
#: htm.core's Temporal Memory and the TM of Numenta's NAB entry. Every place that means "NuPIC's
#: TM parameters" (the TM dataclass defaults, :data:`htmkit.backtracking_tm.NAB_PARAMS`, the
#: ``tm`` section of :data:`htmkit.model.DEFAULT_CONFIG`) takes them from here.
NUPIC_TM: dict[str, Any] = {
    "cells_per_column": 32,
    "activation_threshold": 13,
    "min_threshold": 10,
    "max_new_synapse_count": 20,
    "initial_permanence": 0.21,
    "connected_permanence": 0.5,
    "permanence_increment": 0.1,
    "permanence_decrement": 0.1,
    "predicted_segment_decrement": 0.0,
}

#: The backtracking TM's own parameters in Numenta's NAB entry (``temporalImp: cpp``, NuPIC's
#: ``best_single_metric_anomaly_params_cpp.json``; backtrack lengths and ``maxSeqLength`` are
#: NuPIC's defaults).
NUPIC_BACKTRACKING_TM: dict[str, Any] = {
    "max_segments_per_cell": 128,
    "max_synapses_per_segment": 32,
    "pam_length": 3,
    "max_inf_backtrack": 10,
    "max_lrn_backtrack": 5,
    "max_seq_length": 32,
}
