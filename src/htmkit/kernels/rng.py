"""A small, savable random number generator for use inside numba kernels.

SplitMix64: the whole state is one ``uint64`` held in a 1-element array, so it is saved and
restored with the owning object's state and a loaded object continues bit-identically.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)


def make_state(seed: int) -> np.ndarray:
    """A new generator state (1-element uint64 array) from an integer seed."""
    s = np.random.SeedSequence(int(seed) & 0xFFFFFFFFFFFFFFFF).generate_state(1, np.uint64)
    return np.asarray(s, dtype=np.uint64)


@njit(cache=True)
def next_u64(state):
    """Next 64-bit random integer; advances ``state`` in place."""
    state[0] += _GOLDEN
    z = state[0]
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True)
def rand_below(state, n):
    """Uniform integer in ``[0, n)`` (``n > 0``)."""
    return np.int64(next_u64(state) % np.uint64(n))


@njit(cache=True)
def rand_float(state):
    """Uniform float in ``[0, 1)``."""
    return np.float64(next_u64(state) >> _S11) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def shuffle_prefix(state, arr, k):
    """Partial Fisher-Yates: afterwards ``arr[:k]`` is a uniform random k-subset of ``arr``."""
    n = arr.shape[0]
    if k > n:
        k = n
    for i in range(k):
        j = i + rand_below(state, n - i)
        tmp = arr[i]
        arr[i] = arr[j]
        arr[j] = tmp
    return k
