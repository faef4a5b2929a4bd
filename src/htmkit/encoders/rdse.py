"""The random distributed scalar encoder (RDSE): hash-based, unbounded input range."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..errors import InputError, ParameterError
from ..params import Constraints, Interval, Optional, check_memory, validate
from ..sdr import SDR
from .base import BoundedCache, BucketGeometry, Encoder, as_real
from .scalar import MAX_SIZE

__all__ = ["RDSE", "RDSEParams", "hash64"]

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_MAX_BUCKET = 2**62
_MAX_PROBES = 64
_CACHE_CAPACITY = 4096


def _mix64(z: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on a ``uint64`` array (wrapping arithmetic, no warnings)."""
    z = z ^ (z >> _S30)
    z = z * _M1
    z = z ^ (z >> _S27)
    z = z * _M2
    return z ^ (z >> _S31)


def hash64(keys: np.ndarray, seed: int) -> np.ndarray:
    """Well-mixed 64-bit hashes of integer ``keys`` under ``seed`` (vectorised).

    Parameters
    ----------
    keys : ndarray of int64 or uint64
        Keys to hash (negative int64 keys are taken as their two's complement).
    seed : int
        Seed in ``[0, 2**64)``.

    Returns
    -------
    ndarray of uint64
    """
    k = np.ascontiguousarray(keys)
    if k.dtype != np.uint64:
        k = k.astype(np.int64).view(np.uint64)
    seed_key = _mix64(np.array([seed], dtype=np.uint64) + _GOLDEN)
    return _mix64(k ^ seed_key)


@dataclass(frozen=True, kw_only=True)
class RDSEParams:
    """Parameters of an :class:`RDSE` (validated at construction).

    Give ``size``, exactly one of ``active_bits`` / ``sparsity`` and exactly one of
    ``resolution`` / ``radius``.

    Parameters
    ----------
    size : int
        Number of output bits (``> active_bits``).
    active_bits : int, optional
        Number of active bits in every encoding.
    sparsity : float, optional
        Alternative to ``active_bits``: ``active_bits = round(sparsity * size)`` (in (0, 1)).
    resolution : float, optional
        Input difference between adjacent buckets.
    radius : float, optional
        Alternative to ``resolution``: ``resolution = radius / active_bits``; the input
        difference beyond which encodings (almost) stop overlapping.
    seed : int
        Hash seed in ``[0, 2**64)``; the encoding is a deterministic function of the seed
        (``0`` is an ordinary seed, not "random").
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "size": Interval(int, 2, MAX_SIZE),
        "active_bits": Optional(Interval(int, 1)),
        "sparsity": Optional(Interval(float, 0, 1, closed="neither")),
        "resolution": Optional(Interval(float, 0, None, closed="neither")),
        "radius": Optional(Interval(float, 0, None, closed="neither")),
        "seed": Interval(int, 0, 2**64 - 1),
    }

    size: int
    active_bits: int | None = None
    sparsity: float | None = None
    resolution: float | None = None
    radius: float | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        validate(self)
        if (self.active_bits is None) == (self.sparsity is None):
            raise ParameterError("exactly one of active_bits or sparsity must be given")
        if self.active_bits is not None:
            if self.active_bits > self.size - 1:
                raise ParameterError(f"active_bits must be <= {self.size - 1} (size - 1), got "
                                     f"{self.active_bits}")
            active = self.active_bits
        else:
            active = int(round(self.sparsity * self.size))  # type: ignore[operator]
            if not 1 <= active < self.size:
                raise ParameterError(
                    f"sparsity={self.sparsity} gives {active} active bits of {self.size}; "
                    "need at least 1 and fewer than size"
                )
        if (self.resolution is None) == (self.radius is None):
            raise ParameterError("exactly one of resolution or radius must be given")
        if self.radius is not None and self.radius / active == 0.0:
            raise ParameterError(f"radius={self.radius} is too small")
        names = "active_bits" if self.active_bits is not None else "sparsity and size"
        check_memory(names, str(active), self.estimated_bytes(active))

    @staticmethod
    def estimated_bytes(active: int) -> float:
        """Bytes an :class:`RDSE` with ``active`` active bits allocates: the int64 bit
        offsets kept from construction, and per :meth:`RDSE.encode` the hashes, the output
        indices and the SDR that holds them."""
        return float(active) * 8 * 4


class RDSE(BucketGeometry, Encoder):
    """Random distributed scalar encoder (like htm.core's ``RDSE``).

    An input ``x`` falls in bucket ``b = floor(x / resolution)``. Active bit ``i`` of bucket
    ``b`` (``i = 0 .. active_bits-1``) is at ``hash64(b + i, seed) % size``. Bucket ``b+1``
    reuses the keys ``b+1 .. b+active_bits-1``, so two inputs ``k`` buckets apart share about
    ``active_bits - k`` bits: overlap falls smoothly with distance and is ~0 (only chance
    collisions, about ``active_bits**2 / size`` bits) beyond ``active_bits * resolution``. The
    input range is unbounded (up to ``|x / resolution| < 2**62``) and the encoding depends only
    on the parameters and the seed.

    Parameters
    ----------
    params : RDSEParams, optional
        The parameters; or pass them as keyword arguments (``RDSE(size=1000, active_bits=40,
        resolution=0.5, seed=1)``).
    **kwargs
        Fields of :class:`RDSEParams` when ``params`` is not given.

    Notes
    -----
    *Hash collisions*: two keys of one bucket can hash to the same bit. Unlike htm.core (which
    then yields fewer active bits), the later key re-hashes (``h <- mix64(h + golden)``, then
    linear probing after 64 tries) until it finds a free bit, so every encoding has exactly
    ``active_bits`` active bits (exact sparsity). The relocation depends on the other keys of
    the bucket, so a colliding key may sit on a different bit in a neighbouring bucket: the
    overlap of adjacent buckets is occasionally one bit less than ``active_bits - 1``. Keys of
    distant buckets can also collide by chance, which is the small residual overlap above.

    *Missing values* (``None``, NaN, ``pandas.NA``) encode to an SDR with no active bits.
    Non-numeric inputs raise ``TypeError``; infinities and inputs too large for the
    resolution raise :class:`~htmkit.errors.InputError`. The last 4096 buckets are cached.
    """

    params_class = RDSEParams

    def __init__(self, params: RDSEParams | None = None, **kwargs: Any):
        self.params: RDSEParams = self._resolve_params(params, kwargs)
        p = self.params
        self._size = p.size
        self._active = (p.active_bits if p.active_bits is not None
                        else int(round(p.sparsity * p.size)))
        self._resolution = p.resolution if p.resolution is not None else p.radius / self._active
        self._dims = (self._size,)
        self._offsets = np.arange(self._active, dtype=np.int64)
        self._seed_key = _mix64(np.array([p.seed], dtype=np.uint64) + _GOLDEN)
        self._usize = np.uint64(self._size)
        self._cache = BoundedCache(_CACHE_CAPACITY)

    # (active_bits, resolution, radius: BucketGeometry)
    # ------------------------------------------------------------------ encoding
    def bucket(self, value: Any) -> int | None:
        """The bucket index of ``value`` (``None`` if missing); errors as in :meth:`encode`."""
        x = as_real(value, "RDSE")
        return None if x is None else self._bucket(x)

    def _bucket(self, x: float) -> int:
        if not math.isfinite(x):
            raise InputError(f"RDSE: cannot encode {x}")
        q = x / self._resolution
        if not -_MAX_BUCKET < q < _MAX_BUCKET:
            raise InputError(
                f"RDSE: value {x} is too large for resolution {self._resolution} "
                f"(|value / resolution| must be < 2**62)"
            )
        return math.floor(q)

    def bucket_indices(self, b: int) -> np.ndarray:
        """Sorted active bit indices of bucket ``b`` (uncached; see the class notes)."""
        h = _mix64((self._offsets + b).view(np.uint64) ^ self._seed_key)
        pos = np.sort(h % self._usize)
        if np.any(pos[1:] == pos[:-1]):
            pos = np.sort(self._resolve_collisions(h))
        return pos.astype(np.int64)

    def _resolve_collisions(self, h: np.ndarray) -> np.ndarray:
        size = self._size
        taken: set[int] = set()
        out = np.empty(h.size, dtype=np.int64)
        for j in range(h.size):
            hj = h[j : j + 1]
            p = int(hj[0] % self._usize)
            tries = 0
            while p in taken:
                if tries < _MAX_PROBES:
                    hj = _mix64(hj + _GOLDEN)
                    p = int(hj[0] % self._usize)
                    tries += 1
                else:
                    p = (p + 1) % size
            taken.add(p)
            out[j] = p
        return out

    def encode(self, value: Any) -> SDR:
        """Encode one number.

        Parameters
        ----------
        value : float or int (or numpy scalar), or a missing value
            The input; any finite value is accepted.

        Returns
        -------
        SDR
            Shape ``(size,)`` with exactly ``active_bits`` active bits, or none when missing.

        Raises
        ------
        TypeError
            ``value`` is not a real number.
        InputError
            ``value`` is infinite or ``|value / resolution| >= 2**62``.
        """
        x = as_real(value, "RDSE")
        if x is None:
            return self._missing()
        b = self._bucket(x)
        sdr = self._cache.get(b)
        if sdr is None:
            sdr = SDR._trusted(self._dims, self.bucket_indices(b))
            self._cache.put(b, sdr)
        return sdr
