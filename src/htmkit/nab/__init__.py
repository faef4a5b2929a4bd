"""Numenta Anomaly Benchmark (NAB) tooling: corpus loading, detectors, runner and scorer.

Modules (each imports numpy/pandas itself, so ``import htmkit.nab`` stays cheap):

* :mod:`htmkit.nab.corpus` -- the NAB data directory: series CSVs and anomaly windows.
* :mod:`htmkit.nab.detectors` -- the streaming detector protocol, the name registry and the
  baselines ``null``, ``random`` and ``windowed_gaussian`` (``htmkit`` resolves lazily).
* :mod:`htmkit.nab.runner` -- runs a detector over the corpus and writes NAB-layout results.
* :mod:`htmkit.nab.scorer` -- NAB's published scoring: windows, probation, scaled sigmoid,
  three application profiles, corpus-wide threshold sweep and normalization.
* :mod:`htmkit.nab.bench` -- run and score several detectors and compare with published rows.
"""

from __future__ import annotations

__all__: list[str] = []
