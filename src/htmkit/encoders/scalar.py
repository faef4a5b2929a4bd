"""The scalar encoder: a contiguous block of active bits whose position follows the value."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..errors import InputError, ParameterError
from ..params import Boolean, Constraints, Interval, Optional, check_memory, validate
from ..sdr import SDR
from .base import BoundedCache, BucketGeometry, Encoder, as_real

__all__ = ["ScalarEncoder", "ScalarEncoderParams"]

#: Largest output size an encoder may have.
MAX_SIZE = 2**31 - 1
_CACHE_CAPACITY = 1 << 16


@dataclass(frozen=True, kw_only=True)
class ScalarEncoderParams:
    """Parameters of a :class:`ScalarEncoder` (validated at construction).

    Give ``active_bits`` and exactly one of ``size``, ``resolution`` or ``radius``.

    Parameters
    ----------
    minimum, maximum : float
        The input range. Non-periodic encoders accept ``[minimum, maximum]``; periodic ones
        treat ``maximum`` as the same point as ``minimum`` (the period is ``maximum - minimum``).
    active_bits : int
        Width of the block of active bits (``>= 1``).
    size : int, optional
        Total number of output bits (``> active_bits``).
    resolution : float, optional
        Input difference between adjacent buckets; inputs closer than this may share an
        encoding. For periodic encoders it is adjusted so that a whole number of buckets tiles
        the period.
    radius : float, optional
        Input difference at which two encodings stop overlapping; equivalent to
        ``resolution = radius / active_bits``.
    periodic : bool
        Wrap around: ``maximum`` is adjacent to ``minimum`` and the block of active bits wraps
        around the end of the output. Out-of-range inputs are taken modulo the period.
    clip : bool
        Non-periodic only: clip out-of-range inputs (including infinities) to the range
        instead of raising :class:`~htmkit.errors.InputError`.
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "minimum": Interval(float),
        "maximum": Interval(float),
        "active_bits": Interval(int, 1),
        "size": Optional(Interval(int, 2, MAX_SIZE)),
        "resolution": Optional(Interval(float, 0, None, closed="neither")),
        "radius": Optional(Interval(float, 0, None, closed="neither")),
        "periodic": Boolean(),
        "clip": Boolean(),
    }

    minimum: float
    maximum: float
    active_bits: int
    size: int | None = None
    resolution: float | None = None
    radius: float | None = None
    periodic: bool = False
    clip: bool = False

    def __post_init__(self) -> None:
        validate(self)
        if self.maximum <= self.minimum:
            raise ParameterError(
                f"maximum must be > minimum, got minimum={self.minimum}, maximum={self.maximum}"
            )
        given = [n for n in ("size", "resolution", "radius") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ParameterError(
                "exactly one of size, resolution or radius must be given, got "
                f"{', '.join(given) if given else 'none'}"
            )
        if self.size is not None and self.size <= self.active_bits:
            raise ParameterError(f"size must be >= {self.active_bits + 1} (active_bits + 1), "
                                 f"got {self.size}")
        scalar_geometry(self)  # validates the derived size
        check_memory("active_bits", str(self.active_bits), self.estimated_bytes())

    def estimated_bytes(self) -> float:
        """Bytes one :meth:`ScalarEncoder.encode` allocates: the int64 indices of the
        ``active_bits`` active bits (a periodic wrap builds them from two ranges, then joins
        them) and the SDR that holds them."""
        return float(self.active_bits) * 8 * 3


def scalar_geometry(p: ScalarEncoderParams) -> tuple[int, float, int]:
    """Derived ``(size, resolution, n_buckets)`` of validated parameters.

    Raises :class:`ParameterError` naming the given size/resolution/radius when the derived
    output would be degenerate (every input encoded alike) or larger than ``MAX_SIZE``.
    """
    extent = p.maximum - p.minimum
    a = p.active_bits
    if not math.isfinite(extent):
        raise ParameterError(f"maximum - minimum must be finite, got {extent}")
    name = "size" if p.size is not None else "resolution" if p.resolution is not None else "radius"
    if p.size is not None:
        size = p.size
        if p.periodic:
            return size, extent / size, size
        n_buckets = size - a + 1
        return size, extent / (n_buckets - 1), n_buckets
    res = p.resolution if p.resolution is not None else p.radius / a  # type: ignore[operator]
    ratio = extent / res
    if ratio > MAX_SIZE:
        raise ParameterError(f"{name}={getattr(p, name)} gives more than {MAX_SIZE} output bits")
    if p.periodic:
        size = int(math.floor(ratio + 0.5))
        if size <= a:
            raise ParameterError(
                f"{name}={getattr(p, name)} is too large for the period {extent}: the output "
                f"would have {size} bits, which must be > active_bits ({a})"
            )
        return size, extent / size, size
    n_buckets = int(math.floor(ratio + 0.5)) + 1
    if n_buckets < 2:
        raise ParameterError(
            f"{name}={getattr(p, name)} is too large for the range [{p.minimum}, {p.maximum}]: "
            "every input would get the same encoding"
        )
    size = n_buckets + a - 1
    if size > MAX_SIZE:
        raise ParameterError(f"{name}={getattr(p, name)} gives more than {MAX_SIZE} output bits")
    return size, res, n_buckets


class ScalarEncoder(BucketGeometry, Encoder):
    """Encode a real number as a contiguous block of ``active_bits`` active bits.

    The input range is split into buckets ``resolution`` apart; bucket ``b`` activates bits
    ``b, b+1, ..., b+active_bits-1`` (taken modulo :attr:`size` when periodic). Two inputs
    ``k`` buckets apart therefore share ``max(0, active_bits - k)`` bits: nearer values overlap
    more, and values further apart than :attr:`radius` do not overlap at all.

    Parameters
    ----------
    params : ScalarEncoderParams, optional
        The parameters; or pass them as keyword arguments (``ScalarEncoder(minimum=0,
        maximum=100, size=400, active_bits=21)``).
    **kwargs
        Fields of :class:`ScalarEncoderParams` when ``params`` is not given.

    Notes
    -----
    *Missing values* (``None``, NaN, ``pandas.NA``) encode to an SDR with no active bits.
    A non-numeric input (a string, a bool, ...) raises ``TypeError``. A non-periodic encoder
    raises :class:`~htmkit.errors.InputError` for inputs outside ``[minimum, maximum]`` unless
    ``clip=True``; a periodic one wraps them into the period (infinities always raise there).
    Encodings are cached per bucket, so repeated inputs cost a dict look-up.

    Examples
    --------
    >>> enc = ScalarEncoder(minimum=0, maximum=100, size=100, active_bits=10)
    >>> enc.encode(50.0).overlap(enc.encode(52.0))
    8
    """

    params_class = ScalarEncoderParams

    def __init__(self, params: ScalarEncoderParams | None = None, **kwargs: Any):
        self.params: ScalarEncoderParams = self._resolve_params(params, kwargs)
        p = self.params
        self._size, self._resolution, self._n_buckets = scalar_geometry(p)
        self._dims = (self._size,)
        self._active = p.active_bits
        self._min = p.minimum
        self._max = p.maximum
        self._periodic = p.periodic
        self._clip = p.clip
        self._cache = BoundedCache(min(self._n_buckets, _CACHE_CAPACITY))

    # ------------------------------------------------------------------ properties
    # (active_bits, resolution, radius: BucketGeometry)
    @property
    def num_buckets(self) -> int:
        """Number of distinct encodings."""
        return self._n_buckets

    # ------------------------------------------------------------------ encoding
    def bucket(self, value: Any) -> int | None:
        """The bucket index of ``value`` (``None`` if missing); errors as in :meth:`encode`."""
        x = as_real(value, "ScalarEncoder")
        return None if x is None else self._bucket(x)

    def _bucket(self, x: float) -> int:
        if self._periodic:
            if not math.isfinite(x):
                raise InputError(f"ScalarEncoder: cannot encode {x} with a periodic encoder")
            return int(math.floor((x - self._min) / self._resolution + 0.5)) % self._size
        if x < self._min or x > self._max:
            if not self._clip:
                raise InputError(
                    f"ScalarEncoder: value {x} is outside [{self._min}, {self._max}] "
                    "(set clip=True to clip it)"
                )
            x = self._min if x < self._min else self._max
        b = int(math.floor((x - self._min) / self._resolution + 0.5))
        return b if b < self._n_buckets else self._n_buckets - 1

    def _bucket_sdr(self, b: int) -> SDR:
        sdr = self._cache.get(b)
        if sdr is None:
            end = b + self._active
            if end <= self._size:
                idx = np.arange(b, end, dtype=np.int64)
            else:  # periodic wrap-around
                idx = np.concatenate([np.arange(0, end - self._size), np.arange(b, self._size)])
            sdr = SDR._trusted(self._dims, idx)
            self._cache.put(b, sdr)
        return sdr

    def encode(self, value: Any) -> SDR:
        """Encode one number.

        Parameters
        ----------
        value : float or int (or numpy scalar), or a missing value
            The input.

        Returns
        -------
        SDR
            Shape ``(size,)`` with ``active_bits`` active bits, or none for a missing value.

        Raises
        ------
        TypeError
            ``value`` is not a real number.
        InputError
            Out of range (non-periodic without ``clip``), or infinite.
        """
        x = as_real(value, "ScalarEncoder")
        if x is None:
            return self._missing()
        return self._bucket_sdr(self._bucket(x))
