"""Streams with long-range dependencies across a variable-length middle.

Two generators, each returning a :class:`LongRangeStream` -- one unbroken stream of symbols
(no resets, no boundaries given to the models) with, for every position, the set of symbols
that may legally come next, and a flag on the *dependent* positions, whose only legal symbol
is fixed by a symbol seen many steps before:

* :func:`embedded_reber` -- the embedded Reber grammar of the LSTM literature (Hochreiter &
  Schmidhuber 1997): ``B (T|P) <Reber string> (T|P) E`` where the symbol after the first
  ``B`` must be repeated before the final ``E``. The inner Reber string has two loops, so its
  length varies and the same middle rarely repeats.
* :func:`dependency_stream` -- our own: ``S_i <middle> Q D_i`` where one of ``n_deps`` start
  symbols ``S_i`` fixes the end symbol ``D_i``; the middle is a random walk (two successors
  per symbol, so loops) over ``alphabet`` symbols whose length is drawn uniformly in
  ``[gap_min, gap_max]``; ``Q`` closes the middle. The *gap* (distance from ``S_i`` to
  ``D_i``) is the middle's length + 2.

A prediction made for position ``t`` (after seeing ``t - 1``) is correct when it is one of the
legal symbols of ``t`` (``legal[t]`` as a bit mask over the symbols).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError

__all__ = ["LongRangeStream", "embedded_reber", "dependency_stream", "REBER_SYMBOLS"]

#: Symbols of the (embedded) Reber grammar, in their index order.
REBER_SYMBOLS = ("B", "T", "P", "S", "X", "V", "E")

# Reber graph: node -> ((symbol, next node), (symbol, next node)); node 5 emits E and ends.
_REBER = {
    0: (("T", 1), ("P", 2)),
    1: (("S", 1), ("X", 3)),
    2: (("T", 2), ("V", 4)),
    3: (("X", 2), ("S", 5)),
    4: (("P", 3), ("V", 5)),
}


@dataclass
class LongRangeStream:
    """A symbol stream with its legal-next sets and dependent positions.

    Attributes
    ----------
    symbols : ndarray of int64
        The stream.
    legal : ndarray of int64
        ``legal[t]``: bit mask of the symbols that may legally appear at position ``t``.
    dependent : ndarray of bool
        Positions whose symbol is fixed by the start of their string.
    gap : ndarray of int64
        At dependent positions, the distance back to the symbol that fixes them (else 0).
    names : tuple of str
        A name per symbol index.
    """

    symbols: np.ndarray
    legal: np.ndarray
    dependent: np.ndarray
    gap: np.ndarray
    names: tuple[str, ...]

    @property
    def n_symbols(self) -> int:
        return len(self.names)

    def __len__(self) -> int:
        return int(self.symbols.shape[0])

    def is_correct(self, predictions: np.ndarray) -> np.ndarray:
        """Boolean array: ``predictions[t]`` (``-1``: none) is a legal symbol of ``t``."""
        p = np.asarray(predictions, dtype=np.int64)
        ok = p >= 0
        bits = np.zeros_like(p)
        bits[ok] = np.left_shift(1, p[ok])
        return ok & ((self.legal & bits) != 0)


def _finish(syms: list[int], legal: list[int], dep: list[bool], gap: list[int],
            names: tuple[str, ...], length: int) -> LongRangeStream:
    return LongRangeStream(np.asarray(syms[:length], np.int64),
                           np.asarray(legal[:length], np.int64),
                           np.asarray(dep[:length], bool), np.asarray(gap[:length], np.int64),
                           names)


def embedded_reber(length: int, seed: int = 0) -> LongRangeStream:
    """``length`` elements of concatenated embedded Reber strings (all choices 50/50)."""
    if length < 1:
        raise ParameterError(f"length must be >= 1, got {length}")
    rng = np.random.default_rng([int(seed), 1])
    idx = {s: i for i, s in enumerate(REBER_SYMBOLS)}
    b = {s: 1 << i for s, i in idx.items()}
    syms: list[int] = []
    legal: list[int] = []
    dep: list[bool] = []
    gap: list[int] = []

    def put(sym: str, lg: int, d: bool = False, g: int = 0) -> None:
        syms.append(idx[sym])
        legal.append(lg)
        dep.append(d)
        gap.append(g)

    while len(syms) < length:
        put("B", b["B"])
        branch = "T" if rng.random() < 0.5 else "P"
        start = len(syms)
        put(branch, b["T"] | b["P"])
        put("B", b["B"])
        node = 0
        while node != 5:
            opts = _REBER[node]
            sym, nxt = opts[int(rng.random() < 0.5)]
            put(sym, b[opts[0][0]] | b[opts[1][0]])
            node = nxt
        put("E", b["E"])
        put(branch, b[branch], True, len(syms) - start)
        put("E", b["E"])
    return _finish(syms, legal, dep, gap, REBER_SYMBOLS, length)


def dependency_stream(length: int, *, gap_min: int = 4, gap_max: int = 12, alphabet: int = 6,
                      n_deps: int = 2, seed: int = 0) -> LongRangeStream:
    """``length`` elements of concatenated ``S_i <middle> Q D_i`` strings.

    Symbols: ``S0..S{n-1}`` (starts), ``D0..D{n-1}`` (ends), ``Q`` (end of middle), then the
    ``alphabet`` middle symbols ``m0..``. Each middle symbol has two successors (drawn once
    from ``seed``), so middles loop; a middle has ``gap_min..gap_max`` symbols (uniform).
    """
    for name, v, lo in (("length", length, 1), ("gap_min", gap_min, 1),
                        ("alphabet", alphabet, 2), ("n_deps", n_deps, 2)):
        if v < lo:
            raise ParameterError(f"{name} must be >= {lo}, got {v}")
    if gap_max < gap_min:
        raise ParameterError(f"gap_max ({gap_max}) must be >= gap_min ({gap_min})")
    names = (tuple(f"S{i}" for i in range(n_deps)) + tuple(f"D{i}" for i in range(n_deps))
             + ("Q",) + tuple(f"m{i}" for i in range(alphabet)))
    if len(names) > 62:
        raise ParameterError("n_deps and alphabet give more than 62 symbols")
    rng = np.random.default_rng([int(seed), 2])
    q = 2 * n_deps
    m0 = q + 1
    succ = np.empty((alphabet, 2), np.int64)
    for a in range(alphabet):
        succ[a] = rng.choice(alphabet, 2, replace=False)
    starts = sum(1 << i for i in range(n_deps))
    syms: list[int] = []
    legal: list[int] = []
    dep: list[bool] = []
    gap: list[int] = []
    all_middle = sum(1 << (m0 + a) for a in range(alphabet))
    while len(syms) < length:
        k = int(rng.integers(n_deps))
        syms.append(k)
        legal.append(starts)
        dep.append(False)
        gap.append(0)
        n_mid = int(rng.integers(gap_min, gap_max + 1))
        a = int(rng.integers(alphabet))
        prev_legal = all_middle  # after S_i any middle symbol may start
        for j in range(n_mid):
            syms.append(m0 + a)
            legal.append(prev_legal)
            dep.append(False)
            gap.append(0)
            nxt = succ[a]
            prev_legal = (1 << (m0 + int(nxt[0]))) | (1 << (m0 + int(nxt[1])))
            if j + 1 >= gap_min:
                prev_legal |= 1 << q
            if j + 1 < n_mid:
                a = int(nxt[int(rng.integers(2))])
        syms.append(q)
        legal.append(1 << q if n_mid >= gap_max else prev_legal)
        dep.append(False)
        gap.append(0)
        syms.append(n_deps + k)
        legal.append(1 << (n_deps + k))
        dep.append(True)
        gap.append(n_mid + 2)
    return _finish(syms, legal, dep, gap, names, length)
