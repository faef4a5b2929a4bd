"""Statistics of an SDR stream over time (sparsity, activation frequency, entropy, overlap).

Like htm.core's ``Metrics``: each statistic is an exponential moving average with the given
``period`` (after the first ``period`` samples; a plain running mean before that).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InputError
from .sdr import SDR


@dataclass(frozen=True)
class Summary:
    """Min / mean / std / max of one statistic over the samples seen so far."""

    min: float
    mean: float
    std: float
    max: float


class _Running:
    def __init__(self, period: int):
        self.period = period
        self.n = 0
        self.mean = 0.0
        self.var = 0.0
        self.lo = np.inf
        self.hi = -np.inf

    def add(self, x: float) -> None:
        self.n += 1
        alpha = 1.0 / min(self.n, self.period)
        delta = x - self.mean
        self.mean += alpha * delta
        self.var = (1 - alpha) * (self.var + alpha * delta * delta)
        self.lo = min(self.lo, x)
        self.hi = max(self.hi, x)

    def summary(self) -> Summary:
        if self.n == 0:
            return Summary(np.nan, np.nan, np.nan, np.nan)
        return Summary(float(self.lo), float(self.mean), float(np.sqrt(self.var)), float(self.hi))


class Metrics:
    """Track sparsity, per-bit activation frequency, entropy and consecutive overlap.

    Parameters
    ----------
    shape : int or tuple
        Shape of the SDRs that will be added.
    period : int
        Time constant of the moving averages (number of samples).
    """

    def __init__(self, shape: int | tuple[int, ...], period: int = 1000):
        if int(period) < 1:
            raise InputError(f"period must be >= 1, got {period}")
        self.shape = SDR(shape).shape
        self.size = int(np.prod(self.shape))
        self.period = int(period)
        self.samples = 0
        self._sparsity = _Running(self.period)
        self._overlap = _Running(self.period)
        self._freq = np.zeros(self.size, dtype=np.float64)
        self._previous: SDR | None = None

    def add(self, sdr: SDR) -> None:
        """Add one SDR of the tracked shape."""
        if not isinstance(sdr, SDR) or sdr.size != self.size:
            raise InputError(f"Metrics expects SDRs of size {self.size}")
        self.samples += 1
        alpha = 1.0 / min(self.samples, self.period)
        self._sparsity.add(sdr.sparsity)
        self._freq *= 1.0 - alpha
        self._freq[sdr.indices] += alpha
        if self._previous is not None:
            denom = max(self._previous.num_active, sdr.num_active, 1)
            self._overlap.add(self._previous.overlap(sdr) / denom)
        self._previous = sdr

    @property
    def sparsity(self) -> Summary:
        """Summary of the fraction of active bits per sample."""
        return self._sparsity.summary()

    @property
    def activation_frequency(self) -> np.ndarray:
        """Per-bit moving-average activation frequency, in the SDR's shape."""
        return self._freq.reshape(self.shape).copy()

    @property
    def activation_frequency_summary(self) -> Summary:
        f = self._freq
        return Summary(float(f.min()), float(f.mean()), float(f.std()), float(f.max()))

    @property
    def entropy(self) -> float:
        """Binary entropy of the activation frequencies relative to the maximum for the mean
        sparsity (1.0 = all bits used equally often)."""
        f = np.clip(self._freq, 1e-12, 1 - 1e-12)
        h = -(f * np.log2(f) + (1 - f) * np.log2(1 - f))
        mean = float(np.clip(self._freq.mean(), 1e-12, 1 - 1e-12))
        hmax = -(mean * np.log2(mean) + (1 - mean) * np.log2(1 - mean))
        return float(h.mean() / hmax) if hmax > 0 else 0.0

    @property
    def overlap(self) -> Summary:
        """Summary of the overlap between consecutive SDRs (fraction of the larger)."""
        return self._overlap.summary()

    def __str__(self) -> str:
        s, o = self.sparsity, self.overlap
        return (
            f"Metrics(shape={self.shape}, samples={self.samples}): "
            f"sparsity min/mean/max {s.min:.4f}/{s.mean:.4f}/{s.max:.4f}, "
            f"entropy {self.entropy:.3f}, overlap mean {o.mean:.3f}"
        )
