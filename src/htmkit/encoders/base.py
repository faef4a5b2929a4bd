"""The abstract :class:`Encoder` base class and helpers shared by all encoders.

An encoder turns one value (a number, a date, a category, a record, an image) into an
:class:`~htmkit.sdr.SDR` of fixed :attr:`~Encoder.dimensions`. Every encoder keeps its
parameters in a frozen, validated dataclass (``params``), is deterministic, and is
:class:`~htmkit.serialization.Persistable` (``save``/``load`` give identical encodings).

Missing values
--------------
``None``, a float ``NaN``, ``pandas.NA`` / ``pandas.NaT`` and ``numpy.datetime64("NaT")`` are
*missing*. Encoders that accept them return the *missing encoding*: an SDR of the encoder's
dimensions with **no active bits** (see :meth:`Encoder._missing`).
"""

from __future__ import annotations

import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Hashable
from typing import Any, ClassVar

import numpy as np

from ..errors import InputTypeError, ParameterError
from ..params import Boolean, params_from_dict, params_to_dict
from ..sdr import SDR
from ..serialization import Persistable

__all__ = ["Encoder", "is_missing"]

#: Encoder classes by name, used to rebuild nested encoders (e.g. in a MultiEncoder) on load.
_ENCODER_CLASSES: dict[str, type[Encoder]] = {}

_MISSING_TYPE_NAMES = frozenset({"NAType", "NaTType"})


def is_missing(value: Any) -> bool:
    """True for ``None``, float NaN, ``pandas.NA``/``NaT`` and numpy ``NaT``.

    Parameters
    ----------
    value : Any
        The value to test.

    Returns
    -------
    bool
        Whether ``value`` counts as missing for the encoders.
    """
    if value is None:
        return True
    if isinstance(value, (float, np.floating)):
        return value != value
    if isinstance(value, (np.datetime64, np.timedelta64)):
        return bool(np.isnat(value))
    return type(value).__name__ in _MISSING_TYPE_NAMES


def as_real(value: Any, owner: str) -> float | None:
    """``value`` as a float, ``None`` when missing; ``TypeError`` naming ``owner`` otherwise.

    Accepts Python and numpy ints/floats (``bool`` is rejected), 0-d numeric arrays and other
    :class:`numbers.Real`. Infinities are returned as they are (the caller decides).
    """
    t = type(value)
    if t is float:
        return None if value != value else value
    if t is int:
        try:
            return float(value)
        except OverflowError:
            return math.copysign(math.inf, value)
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        raise InputTypeError(f"{owner} expects a real number, got bool ({value!r})")
    if isinstance(value, numbers.Real):
        try:
            f = float(value)
        except OverflowError:
            f = math.copysign(math.inf, value)
        return None if f != f else f
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        return as_real(value.item(), owner)
    if type(value).__name__ in _MISSING_TYPE_NAMES:
        return None
    raise InputTypeError(
        f"{owner} expects a real number, got {type(value).__name__} ({value!r:.40})")


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` as bool, raising :class:`ParameterError` naming ``name`` otherwise
    (the check of :class:`htmkit.params.Boolean`)."""
    return Boolean().check(name, value)


class BoundedCache:
    """A small dict cache holding at most ``capacity`` entries (oldest evicted first)."""

    __slots__ = ("_data", "_capacity")

    def __init__(self, capacity: int):
        self._data: dict[Hashable, Any] = {}
        self._capacity = int(capacity)

    def get(self, key: Hashable) -> Any:
        return self._data.get(key)

    def put(self, key: Hashable, value: Any) -> None:
        data = self._data
        if len(data) >= self._capacity:
            del data[next(iter(data))]
        data[key] = value

    def clear(self) -> None:
        self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


class BucketGeometry:
    """``active_bits``, ``resolution`` and ``radius`` of the scalar encoders (ScalarEncoder,
    RDSE), which set ``_active`` and ``_resolution``."""

    _active: int
    _resolution: float

    @property
    def active_bits(self) -> int:
        """Number of active bits in every (non-missing) encoding."""
        return self._active

    @property
    def resolution(self) -> float:
        """Input difference between adjacent buckets."""
        return self._resolution

    @property
    def radius(self) -> float:
        """``active_bits * resolution``: beyond this input difference, encodings share only
        chance bits (RDSE) or none (ScalarEncoder)."""
        return self._active * self._resolution


class Encoder(Persistable, ABC):
    """Abstract base class of all encoders.

    Subclasses set :attr:`params` (a frozen parameter dataclass whose type is
    :attr:`params_class`) and ``_dims`` (the output shape), and implement :meth:`encode`. The
    default
    :meth:`get_state` / :meth:`from_state` save and rebuild the encoder from its parameters;
    encoders with more state (a growing category list, nested encoders) override them.

    Missing values (``None``, NaN, ``pandas.NA``/``NaT``) encode to :meth:`_missing`, an SDR
    with no active bits, in every encoder that accepts them.
    """

    #: The frozen dataclass type holding this encoder's parameters.
    params_class: ClassVar[type | None] = None

    params: Any
    _missing_sdr: SDR | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _ENCODER_CLASSES[cls.__name__] = cls

    # ------------------------------------------------------------------ construction
    @classmethod
    def _resolve_params(cls, params: Any, kwargs: dict[str, Any]) -> Any:
        """``params`` if given, else ``params_class(**kwargs)``; both at once is an error."""
        pc = cls.params_class
        assert pc is not None
        if params is None:
            return pc(**kwargs)
        if kwargs:
            raise ParameterError(
                f"{cls.__name__}: pass either a {pc.__name__} or keyword parameters, not both "
                f"(got params and {sorted(kwargs)})"
            )
        if not isinstance(params, pc):
            raise ParameterError(
                f"{cls.__name__}: params must be a {pc.__name__}, got {type(params).__name__}"
            )
        return params

    # ------------------------------------------------------------------ interface
    #: Shape of the output SDRs; every subclass sets it in ``__init__``.
    _dims: tuple[int, ...]

    @property
    def dimensions(self) -> tuple[int, ...]:
        """Shape of the output SDRs."""
        return self._dims

    @property
    def size(self) -> int:
        """Total number of output bits (the product of :attr:`dimensions`)."""
        return math.prod(self._dims)

    @abstractmethod
    def encode(self, value: Any) -> SDR:
        """Encode ``value`` into an SDR of shape :attr:`dimensions`."""

    def _missing(self) -> SDR:
        """The missing-value encoding: an SDR of :attr:`dimensions` with no active bits."""
        sdr = self._missing_sdr
        if sdr is None:
            sdr = SDR._trusted(self.dimensions, np.empty(0, dtype=np.int64))
            self._missing_sdr = sdr
        return sdr

    # ------------------------------------------------------------------ persistence
    def get_state(self) -> dict[str, Any]:
        """The encoder's state: its parameters as a JSON-able dict."""
        return {"params": params_to_dict(self.params)}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Encoder:
        """Rebuild an encoder from :meth:`get_state` output."""
        assert cls.params_class is not None
        return cls(params_from_dict(cls.params_class, state["params"]))  # type: ignore[call-arg]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params!r})"


def encoder_class(name: str) -> type[Encoder]:
    """The registered :class:`Encoder` subclass called ``name`` (``KeyError`` if unknown)."""
    try:
        return _ENCODER_CLASSES[name]
    except KeyError:
        raise KeyError(f"unknown encoder class {name!r}") from None
