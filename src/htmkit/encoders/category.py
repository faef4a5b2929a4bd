"""The category encoder: one disjoint block of active bits per category."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..errors import InputError, InputTypeError, ParameterError
from ..params import (
    Boolean,
    Constraints,
    Custom,
    Interval,
    Optional,
    Options,
    check_memory,
    validate,
)
from ..sdr import SDR
from .base import Encoder, is_missing
from .scalar import MAX_SIZE

__all__ = ["CategoryEncoder", "CategoryEncoderParams"]

Category = int | str
_UNKNOWN_MODES = ("error", "encode")


def _category_key(value: Any, owner: str) -> Category | None:
    """``value`` as a hashable category (int or str), ``None`` if missing, else TypeError."""
    t = type(value)
    if t is str or t is int:
        return value
    if isinstance(value, (bool, np.bool_)):
        raise InputTypeError(f"{owner} expects an int or str category, got bool ({value!r})")
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if is_missing(value):
        return None
    raise InputTypeError(
        f"{owner} expects an int or str category, got {type(value).__name__} ({value!r:.40})"
    )


def _check_categories(name: str, cats: Any) -> tuple[Category, ...]:
    if isinstance(cats, (str, bytes)) or not isinstance(cats, Sequence):
        raise ParameterError(f"{name} must be a sequence of ints or strs, got {cats!r}")
    norm = []
    for i, c in enumerate(cats):
        try:
            key = _category_key(c, name)
        except TypeError:
            key = None
        if key is None:
            raise ParameterError(f"{name}[{i}] must be an int or a str, got {c!r}")
        norm.append(key)
    seen: set[Category] = set()
    for c in norm:
        if c in seen:
            raise ParameterError(f"{name} contains {c!r} more than once")
        seen.add(c)
    return tuple(norm)


@dataclass(frozen=True, kw_only=True)
class CategoryEncoderParams:
    """Parameters of a :class:`CategoryEncoder` (validated at construction).

    Parameters
    ----------
    categories : sequence of int or str
        The known categories, in block order (distinct; ``1`` and ``"1"`` are different
        categories). May be empty only with ``grow=True``.
    active_bits : int
        Active bits per category (the width of each block).
    grow : bool
        Add unseen categories, in order of first appearance, up to ``max_categories``.
    max_categories : int, optional
        With ``grow=True`` (required there): the number of category blocks reserved, which
        fixes the output size. Not allowed without ``grow``.
    unknown : {"error", "encode"}
        What an unknown category (or a new one once a growing encoder is full) does:
        ``"error"`` raises :class:`~htmkit.errors.InputError`; ``"encode"`` returns the
        *unknown* encoding, an extra block of ``active_bits`` bits at the end of the output.
    """

    _parameter_constraints: ClassVar[Constraints] = {
        "categories": Custom(_check_categories, "a sequence of distinct ints or strs"),
        "active_bits": Interval(int, 1),
        "grow": Boolean(),
        "max_categories": Optional(Interval(int, 1)),
        "unknown": Options(_UNKNOWN_MODES),
    }

    categories: tuple[Category, ...] = ()
    active_bits: int = 21
    grow: bool = False
    max_categories: int | None = None
    unknown: str = "error"

    def __post_init__(self) -> None:
        validate(self)
        norm = self.categories
        if self.grow:
            if self.max_categories is None:
                raise ParameterError("max_categories is required when grow=True")
            if self.max_categories < len(norm):
                raise ParameterError(f"max_categories must be >= {len(norm)} (the number of "
                                     f"categories), got {self.max_categories}")
        else:
            if self.max_categories is not None:
                raise ParameterError("max_categories is only used with grow=True")
            if not norm:
                raise ParameterError("categories must not be empty unless grow=True")
        blocks = self.max_categories if self.grow and self.max_categories else len(norm)
        slots = blocks + (self.unknown == "encode")
        if slots * self.active_bits > MAX_SIZE:
            raise ParameterError(f"active_bits={self.active_bits} gives more than {MAX_SIZE} bits")
        check_memory("active_bits", str(self.active_bits), self.estimated_bytes())

    def estimated_bytes(self) -> float:
        """Bytes one :meth:`CategoryEncoder.encode` allocates: the int64 indices of the
        ``active_bits`` bits of a category and the SDR that holds them."""
        return float(self.active_bits) * 8 * 2


class CategoryEncoder(Encoder):
    """Encode ints or strings as disjoint blocks of ``active_bits`` bits, one per category.

    Category ``k`` (in the order of ``categories``, then of first appearance when growing)
    activates bits ``k*active_bits .. (k+1)*active_bits - 1``, so distinct categories never
    overlap. The output has ``n_slots * active_bits`` bits, where ``n_slots`` is
    ``len(categories)`` (or ``max_categories`` with ``grow=True``) plus one block for the
    unknown encoding when ``unknown="encode"``. Blocks (rather than random SDRs) were chosen
    because they guarantee zero overlap and are exactly decodable; they make no semantic
    similarity claims between categories.

    Parameters
    ----------
    params : CategoryEncoderParams, optional
        The parameters; or pass them as keyword arguments
        (``CategoryEncoder(categories=["a", "b"], active_bits=10)``).
    **kwargs
        Fields of :class:`CategoryEncoderParams` when ``params`` is not given.

    Notes
    -----
    *Missing values* (``None``, NaN, ``pandas.NA``) encode to an SDR with no active bits.
    *Unknown categories* raise :class:`~htmkit.errors.InputError` by default; with
    ``unknown="encode"`` they map to the unknown block (last ``active_bits`` bits). A growing
    encoder adds new categories until ``max_categories`` are known; after that new categories
    are unknown. The grown category list is saved with the encoder. Types other than int and
    str (floats, bools, ...) raise ``TypeError``; numpy ints and strs are accepted.
    """

    params_class = CategoryEncoderParams

    def __init__(self, params: CategoryEncoderParams | None = None, **kwargs: Any):
        self.params: CategoryEncoderParams = self._resolve_params(params, kwargs)
        p = self.params
        self._active = p.active_bits
        self._grow = p.grow
        self._capacity = p.max_categories if p.grow else len(p.categories)
        self._encode_unknown = p.unknown == "encode"
        self._size = (self._capacity + self._encode_unknown) * self._active
        self._dims = (self._size,)
        self._index: dict[Category, int] = {}
        self._order: list[Category] = []
        self._sdrs: list[SDR] = []
        for c in p.categories:
            self._add(c)
        self._unknown_sdr = (
            self._block(self._capacity) if self._encode_unknown else None
        )

    def _block(self, k: int) -> SDR:
        start = k * self._active
        return SDR._trusted(self._dims, np.arange(start, start + self._active, dtype=np.int64))

    def _add(self, key: Category) -> int:
        k = len(self._order)
        self._index[key] = k
        self._order.append(key)
        self._sdrs.append(self._block(k))
        return k

    # ------------------------------------------------------------------ properties
    @property
    def active_bits(self) -> int:
        """Active bits per category."""
        return self._active

    @property
    def categories(self) -> tuple[Category, ...]:
        """The known categories in block order (including grown ones)."""
        return tuple(self._order)

    @property
    def max_categories(self) -> int:
        """Number of category blocks (excluding the unknown block)."""
        return self._capacity

    # ------------------------------------------------------------------ encoding
    def _lookup(self, key: Category) -> int | None:
        # keys are only ever int or str (bools and floats are rejected), so 1 and "1" differ
        return self._index.get(key)

    def category_index(self, value: Any) -> int | None:
        """Block index of a known category, else ``None`` (no growing, no errors for unknowns)."""
        key = _category_key(value, "CategoryEncoder")
        return None if key is None else self._lookup(key)

    def encode(self, value: Any) -> SDR:
        """Encode one category.

        Parameters
        ----------
        value : int or str, or a missing value
            The category.

        Returns
        -------
        SDR
            Shape ``(size,)``: the category's block, the unknown block, or no bits (missing).

        Raises
        ------
        TypeError
            ``value`` is not an int or a str.
        InputError
            Unknown category with ``unknown="error"``.
        """
        key = _category_key(value, "CategoryEncoder")
        if key is None:
            return self._missing()
        k = self._lookup(key)
        if k is not None:
            return self._sdrs[k]
        if self._grow and len(self._order) < self._capacity:
            return self._sdrs[self._add(key)]
        if self._unknown_sdr is not None:
            return self._unknown_sdr
        if self._grow:
            raise InputError(
                f"CategoryEncoder: cannot add category {key!r}: max_categories "
                f"({self._capacity}) reached"
            )
        raise InputError(f"CategoryEncoder: unknown category {key!r}")

    def decode(self, sdr: SDR) -> Category | None:
        """The category whose block has the most active bits in ``sdr`` (``None`` if none).

        Returns ``None`` too when the unknown block wins.
        """
        if not isinstance(sdr, SDR) or sdr.size != self._size:
            raise InputError(f"CategoryEncoder.decode needs an SDR of size {self._size}")
        if sdr.num_active == 0:
            return None
        counts = np.bincount(sdr.indices // self._active, minlength=self._capacity + 1)
        k = int(np.argmax(counts))
        return self._order[k] if k < len(self._order) and counts[k] > 0 else None

    # ------------------------------------------------------------------ persistence
    def get_state(self) -> dict[str, Any]:
        """Parameters plus the current (possibly grown) category list."""
        state = super().get_state()
        state["categories"] = list(self._order)
        return state

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> CategoryEncoder:
        """Rebuild an encoder, including grown categories, from :meth:`get_state` output."""
        enc = super().from_state(state)
        assert isinstance(enc, CategoryEncoder)
        for c in state["categories"][len(enc._order):]:
            key = _category_key(c, "CategoryEncoder")
            if key is None or enc._lookup(key) is not None or len(enc._order) >= enc._capacity:
                raise TypeError(f"inconsistent saved category {c!r}")
            enc._add(key)
        return enc
