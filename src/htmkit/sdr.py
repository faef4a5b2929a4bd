"""Sparse Distributed Representations.

An :class:`SDR` is an immutable n-dimensional binary array stored as the sorted flat indices of
its active bits. Dense (boolean array) and coordinate views are computed on demand.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .errors import InputError, InputTypeError

__all__ = ["SDR"]


def _as_shape(shape: Any) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (int(shape),)
    try:
        dims = tuple(int(d) for d in shape)
    except TypeError:
        raise InputError(f"SDR shape must be an int or a sequence of ints, got {shape!r}") from None
    if len(dims) == 0 or any(d < 1 for d in dims):
        raise InputError(f"SDR shape must have positive dimensions, got {shape!r}")
    for d, orig in zip(dims, shape, strict=True):
        if isinstance(orig, bool) or (isinstance(orig, float) and orig != d):
            raise InputError(f"SDR shape must hold integers, got {shape!r}")
    return dims


def _index_dtype(size: int) -> type:
    return np.int32 if size < 2**31 else np.int64


class SDR:
    """An immutable sparse binary array of a given shape.

    Parameters
    ----------
    shape : int or sequence of int
        Dimensions of the binary array.
    indices : array-like of int, optional
        Flat indices (row-major) of the active bits. Must be integers in ``[0, size)`` without
        duplicates; order does not matter. Defaults to no active bits.

    Raises
    ------
    InputError (a ``ValueError``)
        Out-of-range or duplicate indices, a non-integer dtype, or a bad shape.

    Examples
    --------
    >>> a = SDR(10, [1, 5, 7])
    >>> b = SDR.from_dense([0, 1, 0, 0, 0, 1, 0, 0, 0, 0])
    >>> a.overlap(b)
    2
    """

    __slots__ = ("_shape", "_size", "_indices", "_hash")

    def __init__(self, shape: int | Sequence[int], indices: Iterable[int] | None = None):
        dims = _as_shape(shape)
        size = int(np.prod(dims))
        if indices is None:
            idx: np.ndarray = np.empty(0, dtype=_index_dtype(size))
        else:
            arr = np.asarray(indices)
            if arr.size == 0:
                arr = arr.reshape(0).astype(np.int64)
            if arr.ndim != 1:
                raise InputError(f"SDR indices must be one-dimensional, got shape {arr.shape}")
            if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
                raise InputError(f"SDR indices must be integers, got dtype {arr.dtype}")
            if arr.size:
                lo, hi = int(arr.min()), int(arr.max())
                if lo < 0 or hi >= size:
                    bad = lo if lo < 0 else hi
                    raise InputError(f"SDR index {bad} is out of range for size {size}")
            idx = np.sort(arr).astype(_index_dtype(size), copy=False)
            if idx.size > 1 and np.any(idx[1:] == idx[:-1]):
                dup = int(idx[1:][idx[1:] == idx[:-1]][0])
                raise InputError(f"SDR index {dup} appears more than once")
        idx = np.array(idx, copy=True)
        idx.flags.writeable = False
        self._shape = dims
        self._size = size
        self._indices = idx
        self._hash: int | None = None

    # ------------------------------------------------------------------ constructors
    @classmethod
    def _trusted(cls, shape: tuple[int, ...], indices: np.ndarray) -> SDR:
        """Build without validation from already sorted, unique, in-range indices (internal)."""
        obj = cls.__new__(cls)
        obj._shape = tuple(shape)
        obj._size = math.prod(obj._shape)
        dtype = np.int32 if obj._size < 2**31 else np.int64
        idx = np.array(indices, dtype=dtype, copy=True)
        idx.flags.writeable = False
        obj._indices = idx
        obj._hash = None
        return obj

    @classmethod
    def from_dense(cls, dense: Any) -> SDR:
        """Build from a dense array of 0/1 or booleans; the SDR takes the array's shape."""
        arr = np.asarray(dense)
        if arr.ndim == 0:
            raise InputError("dense SDR input must have at least one dimension")
        if arr.dtype != bool:
            if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
                raise InputError(f"dense SDR input must be boolean or numeric, got {arr.dtype}")
            if not np.all((arr == 0) | (arr == 1)):
                raise InputError("dense SDR input must contain only 0 and 1")
        return cls._trusted(_as_shape(arr.shape), np.flatnonzero(arr.ravel()))

    @classmethod
    def from_coordinates(cls, shape: int | Sequence[int], coordinates: Sequence[Any]) -> SDR:
        """Build from per-dimension coordinate arrays (as returned by :attr:`coordinates`)."""
        dims = _as_shape(shape)
        if len(coordinates) != len(dims):
            raise InputError(
                f"expected {len(dims)} coordinate arrays for shape {dims}, got {len(coordinates)}"
            )
        coords = []
        for axis, (c, d) in enumerate(zip(coordinates, dims, strict=True)):
            a = np.asarray(c)
            if a.size and (a.dtype == bool or not np.issubdtype(a.dtype, np.integer)):
                raise InputError(f"coordinates along axis {axis} must be integers, got {a.dtype}")
            if a.size and (a.min() < 0 or a.max() >= d):
                raise InputError(f"coordinate out of range along axis {axis} (size {d})")
            coords.append(a.astype(np.int64).ravel())
        if len({c.size for c in coords}) > 1:
            raise InputError("coordinate arrays must all have the same length")
        flat: Any = np.ravel_multi_index(tuple(coords), dims) if coords[0].size else []
        return cls(dims, flat)

    @classmethod
    def random(cls, shape: int | Sequence[int], sparsity: float, seed: int | None = None) -> SDR:
        """A uniformly random SDR with ``round(sparsity * size)`` active bits."""
        dims = _as_shape(shape)
        if not 0.0 <= float(sparsity) <= 1.0:
            raise InputError(f"sparsity must be in [0, 1], got {sparsity}")
        size = int(np.prod(dims))
        rng = np.random.default_rng(seed)
        n = int(round(float(sparsity) * size))
        return cls._trusted(dims, np.sort(rng.choice(size, n, replace=False)))

    # ------------------------------------------------------------------ views
    @property
    def shape(self) -> tuple[int, ...]:
        """Dimensions of the binary array."""
        return self._shape

    @property
    def size(self) -> int:
        """Total number of bits."""
        return self._size

    @property
    def indices(self) -> np.ndarray:
        """Sorted flat indices of the active bits (read-only array)."""
        return self._indices

    @property
    def sparse(self) -> np.ndarray:
        """Alias of :attr:`indices`."""
        return self._indices

    @property
    def dense(self) -> np.ndarray:
        """A new boolean array of :attr:`shape` with the active bits set."""
        out = np.zeros(self._size, dtype=bool)
        out[self._indices] = True
        return out.reshape(self._shape)

    @property
    def coordinates(self) -> tuple[np.ndarray, ...]:
        """Per-dimension coordinates of the active bits (like ``numpy.nonzero``)."""
        return tuple(np.unravel_index(self._indices, self._shape))

    @property
    def num_active(self) -> int:
        """Number of active bits."""
        return int(self._indices.size)

    @property
    def sparsity(self) -> float:
        """Fraction of bits that are active."""
        return self.num_active / self._size

    def __len__(self) -> int:
        return self.num_active

    # ------------------------------------------------------------------ operations
    def _check_same_size(self, other: SDR, what: str) -> None:
        if not isinstance(other, SDR):
            raise InputTypeError(f"{what} needs an SDR, got {type(other).__name__}")
        if other._size != self._size:
            raise InputError(f"{what}: sizes differ ({self._size} vs {other._size})")

    def overlap(self, other: SDR) -> int:
        """Number of bits active in both SDRs (sizes must match)."""
        self._check_same_size(other, "overlap")
        return int(np.intersect1d(self._indices, other._indices, assume_unique=True).size)

    def union(self, *others: SDR) -> SDR:
        """Bits active in any of the SDRs (same size; result takes this SDR's shape)."""
        idx = self._indices
        for o in others:
            self._check_same_size(o, "union")
            idx = np.union1d(idx, o._indices)
        return SDR._trusted(self._shape, idx)

    def intersection(self, *others: SDR) -> SDR:
        """Bits active in all of the SDRs."""
        idx = self._indices
        for o in others:
            self._check_same_size(o, "intersection")
            idx = np.intersect1d(idx, o._indices, assume_unique=True)
        return SDR._trusted(self._shape, idx)

    __or__ = union
    __and__ = intersection

    def reshape(self, shape: int | Sequence[int]) -> SDR:
        """The same bits under new dimensions with the same total size."""
        dims = _as_shape(shape)
        if int(np.prod(dims)) != self._size:
            raise InputError(f"cannot reshape SDR of size {self._size} into {dims}")
        return SDR._trusted(dims, self._indices)

    def flatten(self) -> SDR:
        """The same bits as a one-dimensional SDR."""
        return SDR._trusted((self._size,), self._indices)

    @staticmethod
    def concatenate(sdrs: Sequence[SDR], axis: int = 0) -> SDR:
        """Join SDRs along ``axis`` (other dimensions must agree), like ``numpy.concatenate``."""
        sdrs = list(sdrs)
        if not sdrs:
            raise InputError("concatenate needs at least one SDR")
        for s in sdrs:
            if not isinstance(s, SDR):
                raise InputTypeError(f"concatenate needs SDRs, got {type(s).__name__}")
        if all(len(s.shape) == 1 for s in sdrs) and axis in (0, -1):
            offsets = np.cumsum([0] + [s.size for s in sdrs[:-1]])
            idx = np.concatenate([s.indices.astype(np.int64) + o for s, o in zip(sdrs, offsets,
                                                                               strict=True)])
            return SDR._trusted((int(sum(s.size for s in sdrs)),), idx)
        try:
            dense = np.concatenate([s.dense for s in sdrs], axis=axis)
        except (ValueError, np.exceptions.AxisError) as exc:
            raise InputError(f"cannot concatenate SDRs: {exc}") from None
        return SDR.from_dense(dense)

    def add_noise(self, fraction: float, seed: int | None = None) -> SDR:
        """Move ``round(fraction * num_active)`` active bits to random inactive positions.

        The number of active bits (the sparsity) is kept.
        """
        if not 0.0 <= float(fraction) <= 1.0:
            raise InputError(f"noise fraction must be in [0, 1], got {fraction}")
        rng = np.random.default_rng(seed)
        n_move = int(round(float(fraction) * self.num_active))
        inactive_count = self._size - self.num_active
        n_move = min(n_move, inactive_count)
        if n_move == 0:
            return self
        keep = rng.choice(self.num_active, self.num_active - n_move, replace=False)
        mask = np.ones(self._size, dtype=bool)
        mask[self._indices] = False
        new = rng.choice(np.flatnonzero(mask), n_move, replace=False)
        return SDR._trusted(self._shape, np.sort(np.concatenate([self._indices[keep], new])))

    # ------------------------------------------------------------------ dunder
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SDR):
            return NotImplemented
        return self._shape == other._shape and np.array_equal(self._indices, other._indices)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash((self._shape, self._indices.tobytes()))
        return self._hash

    def __repr__(self) -> str:
        shown = ", ".join(str(i) for i in self._indices[:12])
        more = ", ..." if self.num_active > 12 else ""
        return f"SDR(shape={self._shape}, active={self.num_active}, indices=[{shown}{more}])"
