"""Numba kernels: plain ``@njit(cache=True)`` functions over flat numpy arrays.

Each module holds the hot loops of one algorithm; the readable classes above them live in
``htmkit.spatial_pooler``, ``htmkit.temporal_memory`` and friends.
"""
