"""Validated parameter dataclasses: declarative constraints and helpers.

Every algorithm keeps its parameters in a frozen dataclass. The dataclass states what each
field accepts in a class-level mapping ``_parameter_constraints`` (field name -> constraint)
and its ``__post_init__`` calls :func:`validate`, which checks every field, stores the
normalised value (``int``, ``float``, a tuple of dimensions, ...) and raises
:class:`~htmkit.errors.ParameterError` naming the field otherwise. Checks between fields
(e.g. ``min_threshold <= activation_threshold``) follow in ``__post_init__``::

    @dataclass(frozen=True)
    class MyParams:
        _parameter_constraints: ClassVar[Constraints] = {
            "size": Interval(int, 1, None),
            "rate": Interval(float, 0, 1, closed="right"),
            "mode": Options({"fast", "exact"}),
            "shape": Shape(),
            "limit": Optional(Interval(int, 1, None)),
        }
        size: int = 10
        rate: float = 1
        mode: str = "fast"
        shape: tuple[int, ...] = (8,)
        limit: int | None = None

        def __post_init__(self) -> None:
            validate(self)

The constraints: :class:`Interval` (an int or a finite float within bounds), :class:`Options`
(one of a set of values), :class:`Boolean`, :class:`Shape` (dimensions: an int or a sequence of
positive ints), :class:`IntSequence` (a tuple of ints within bounds), :class:`Optional`
(``None`` or another constraint) and :class:`Custom` (a function).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

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


# ---------------------------------------------------------------------------- constraints
class Constraint:
    """What a parameter accepts. :meth:`check` returns the normalised value or raises
    :class:`ParameterError` naming the parameter."""

    def check(self, name: str, value: Any) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - interface
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{self.describe()}>"


_CLOSED = ("both", "left", "right", "neither")


class Interval(Constraint):
    """An ``int`` or a finite ``float`` between ``low`` and ``high`` (``None``: unbounded).

    Parameters
    ----------
    type : int or float
        ``int`` accepts integers (not bools); ``float`` accepts any real number (not bools)
        and converts it to ``float``.
    low, high : number or None
        The bounds.
    closed : {"both", "left", "right", "neither"}
        Which bounds belong to the interval.
    """

    def __init__(self, type: type, low: float | None = None, high: float | None = None, *,
                 closed: str = "both"):
        if type not in (int, float):
            raise TypeError("Interval type must be int or float")
        if closed not in _CLOSED:
            raise ValueError(f"closed must be one of {_CLOSED}, got {closed!r}")
        self.type = type
        self.low = low
        self.high = high
        self.closed = closed

    def check(self, name: str, value: Any) -> Any:
        left = self.closed in ("both", "left")
        right = self.closed in ("both", "right")
        if self.type is int:
            low = None if self.low is None else int(self.low)
            high = None if self.high is None else int(self.high)
            if low is not None and not left:
                low += 1
            if high is not None and not right:
                high -= 1
            return check_int(name, value, low=low, high=high)
        return check_float(name, value, low=self.low, high=self.high, low_open=not left,
                           high_open=not right)

    def describe(self) -> str:
        kind = "an integer" if self.type is int else "a number"
        if self.low is None and self.high is None:
            return kind
        lo = "-inf" if self.low is None else repr(self.low)
        hi = "inf" if self.high is None else repr(self.high)
        lb = "[" if self.closed in ("both", "left") and self.low is not None else "("
        rb = "]" if self.closed in ("both", "right") and self.high is not None else ")"
        return f"{kind} in {lb}{lo}, {hi}{rb}"


class Options(Constraint):
    """One of the given values (compared with ``==``)."""

    def __init__(self, options: Iterable[Any]):
        self.options = tuple(options)

    def check(self, name: str, value: Any) -> Any:
        if isinstance(value, bool) and not any(isinstance(o, bool) for o in self.options):
            raise ParameterError(f"{name} must be one of {self._shown()}, got {value!r}")
        try:
            ok = value in self.options
        except TypeError:
            ok = False
        if not ok:
            raise ParameterError(f"{name} must be one of {self._shown()}, got {value!r}")
        return value

    def _shown(self) -> list[Any]:
        try:
            return sorted(self.options)
        except TypeError:
            return list(self.options)

    def describe(self) -> str:
        return f"one of {self._shown()}"


class Boolean(Constraint):
    """``True`` or ``False`` (a numpy bool is accepted and converted)."""

    def check(self, name: str, value: Any) -> bool:
        if not isinstance(value, (bool, np.bool_)):
            raise ParameterError(f"{name} must be True or False, got {value!r}")
        return bool(value)

    def describe(self) -> str:
        return "True or False"


class Shape(Constraint):
    """Dimensions: an int or a non-empty sequence of positive ints, stored as a tuple."""

    def check(self, name: str, value: Any) -> tuple[int, ...]:
        return check_shape(name, value)

    def describe(self) -> str:
        return "an int or a sequence of positive ints"


class IntSequence(Constraint):
    """A sequence of ints (a single int is accepted), each within ``[low, high]``, stored as
    a tuple; ``min_length`` items at least; ``unique`` forbids repeats; ``sort`` sorts."""

    def __init__(self, low: int | None = None, high: int | None = None, *, min_length: int = 0,
                 unique: bool = False, sort: bool = False):
        self.low, self.high = low, high
        self.min_length, self.unique, self.sort = min_length, unique, sort

    def check(self, name: str, value: Any) -> tuple[int, ...]:
        if not isinstance(value, bool) and (isinstance(value, int) or (
                hasattr(value, "__index__") and not hasattr(value, "__iter__"))):
            value = (value,)
        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            raise ParameterError(f"{name} must be an int or a sequence of ints, got {value!r}")
        out = tuple(check_int(f"{name}[{i}]", v, low=self.low, high=self.high)
                    for i, v in enumerate(value))
        if len(out) < self.min_length:
            raise ParameterError(f"{name} must hold at least {self.min_length} item(s)")
        if self.unique and len(set(out)) != len(out):
            raise ParameterError(f"{name} must not repeat an item, got {out}")
        return tuple(sorted(out)) if self.sort else out

    def describe(self) -> str:
        return "a sequence of ints"


class Optional(Constraint):
    """``None``, or a value accepted by ``constraint``."""

    def __init__(self, constraint: Constraint):
        self.constraint = constraint

    def check(self, name: str, value: Any) -> Any:
        return None if value is None else self.constraint.check(name, value)

    def describe(self) -> str:
        return f"None or {self.constraint.describe()}"


class Custom(Constraint):
    """A check written as a function ``fn(name, value) -> normalised value`` that raises
    :class:`ParameterError` naming ``name``."""

    def __init__(self, fn: Callable[[str, Any], Any], description: str = "custom"):
        self.fn = fn
        self.description = description

    def check(self, name: str, value: Any) -> Any:
        return self.fn(name, value)

    def describe(self) -> str:
        return self.description


#: The type of a ``_parameter_constraints`` mapping.
Constraints = Mapping[str, Constraint]


def validate(params: Any, constraints: Constraints | None = None) -> None:
    """Check every field of the (frozen) dataclass ``params`` named in its
    ``_parameter_constraints`` (or ``constraints``) and store the normalised values, in the
    order of the mapping; the first bad field raises :class:`ParameterError` naming it."""
    if constraints is None:
        constraints = type(params)._parameter_constraints
    for name, constraint in constraints.items():
        object.__setattr__(params, name, constraint.check(name, getattr(params, name)))


def validate_values(constraints: Constraints, values: Mapping[str, Any]) -> dict[str, Any]:
    """The normalised ``values`` of keyword parameters (a class whose parameters are plain
    keyword arguments declares ``_parameter_constraints`` too); the first bad one raises
    :class:`ParameterError` naming it. Names without a constraint pass unchanged."""
    out = dict(values)
    for name, constraint in constraints.items():
        if name in out:
            out[name] = constraint.check(name, out[name])
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


# ---------------------------------------------------------------------------- memory bounds
#: The environment variable that sets the memory limit in bytes (an integer, optionally with
#: a ``K``, ``M``, ``G`` or ``T`` suffix in powers of 1024, e.g. ``HTMKIT_MAX_BYTES=16G``).
MAX_BYTES_ENV = "HTMKIT_MAX_BYTES"

#: The limit when neither :func:`set_memory_limit` nor ``HTMKIT_MAX_BYTES`` sets one: 8 GiB.
DEFAULT_MAX_BYTES = 8 << 30

#: Cell, column and input indices are int32 in the kernels: a count must stay below this.
INDEX_LIMIT = 2**31

_memory_limit: int | None = None
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def _parse_bytes(text: str) -> int:
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = t[-1:] if t[-1:] in _UNITS and t[-1:] != "" else ""
    number = t[: len(t) - len(unit)].strip()
    try:
        value = int(float(number) * _UNITS[unit])
    except (ValueError, OverflowError):
        raise ParameterError(
            f"{MAX_BYTES_ENV} must be a number of bytes such as 8589934592 or 8G, "
            f"got {text!r}") from None
    if value < 1:
        raise ParameterError(f"{MAX_BYTES_ENV} must be positive, got {text!r}")
    return value


def set_memory_limit(nbytes: int | None) -> None:
    """Set the largest number of bytes one constructor may plan to allocate.

    Every constructor (Spatial Pooler, Temporal Memory, encoders, networks, ...) estimates
    the bytes its arrays and per-step working buffers take from its validated parameters
    and raises :class:`~htmkit.errors.ParameterError` when the estimate is above the limit,
    before allocating anything.

    Parameters
    ----------
    nbytes : int or None
        The limit in bytes; ``None`` goes back to the ``HTMKIT_MAX_BYTES`` environment
        variable, or to :data:`DEFAULT_MAX_BYTES` when it is not set.
    """
    global _memory_limit
    if nbytes is None:
        _memory_limit = None
        return
    _memory_limit = check_int("nbytes", nbytes, low=1)


def get_memory_limit() -> int:
    """The limit in bytes now in force: :func:`set_memory_limit`'s value, else
    ``HTMKIT_MAX_BYTES`` (read at each call), else :data:`DEFAULT_MAX_BYTES`."""
    if _memory_limit is not None:
        return _memory_limit
    env = os.environ.get(MAX_BYTES_ENV, "").strip()
    return _parse_bytes(env) if env else DEFAULT_MAX_BYTES


def format_bytes(nbytes: float) -> str:
    """``nbytes`` in a readable unit (KiB, MiB, GiB, TiB; powers of 1024)."""
    for unit, size in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if nbytes >= size:
            return f"{nbytes / size:.1f} {unit}"
    return f"{int(nbytes)} bytes"


def check_memory(names: str, shown: str, nbytes: float) -> None:
    """Raise :class:`ParameterError` when ``nbytes`` (a constructor's estimate) is above
    :func:`get_memory_limit`.

    Parameters
    ----------
    names : str
        The parameter(s) that set the size, as the message names them
        (e.g. ``"column_dimensions"``).
    shown : str
        Their values as the message shows them.
    nbytes : float
        The estimated bytes (a float, so that products of huge sizes cannot overflow).
    """
    limit = get_memory_limit()
    if nbytes > limit:
        raise ParameterError(
            f"{names} {shown} needs about {format_bytes(nbytes)} (estimated), above the "
            f"limit of {format_bytes(limit)}; lower {names} or raise "
            f"htmkit.set_memory_limit(...) / {MAX_BYTES_ENV}")


def check_index_width(names: str, count: int, what: str = "indices") -> None:
    """Raise :class:`ParameterError` when ``count`` items cannot be numbered by the int32
    indices the kernels use (``count`` must be below :data:`INDEX_LIMIT`)."""
    if count >= INDEX_LIMIT:
        raise ParameterError(
            f"{names} give {count} {what}, but the kernels number them with int32: "
            f"at most {INDEX_LIMIT - 1}")
