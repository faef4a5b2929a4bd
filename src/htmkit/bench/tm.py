"""Temporal Memory benchmark (``htmkit bench tm``).

Workloads, each timed on fresh, identically seeded TMs after a warm-up run that loads the
compiled kernels; figures are medians over ``repeats``. Only ``TemporalMemory.compute(columns,
learn=True)`` is inside the timer: the column SDRs are computed beforehand.

(a) ``stream`` -- the standard streaming workload: a noisy sine wave (period ``SINE_PERIOD``
    steps, Gaussian noise of standard deviation ``SINE_NOISE`` on an amplitude of 1) encoded
    as ``ENCODER_BITS`` bits with ``ENCODER_ACTIVE`` active (a contiguous block over
    ``ENCODER_RANGE``, computed inline), through a Spatial Pooler (:data:`SP_PARAMS`: 2048
    columns, 40 active, global inhibition, no boosting, learning on) into a TM of 2048 columns x
    32 cells (:data:`TM_PARAMS`), 2000 steps. Reference: htm.core's C++ TemporalMemory on this
    workload (``REFERENCE_MS``); the target is ``TARGET_MS``.
(a2) ``stream-noisy`` -- the same with noise ``SINE_NOISE_SP_BENCH``, the stream of
    ``htmkit bench sp``: the block moves by ~33 bits (sd) at random each step, so most columns
    keep bursting. Reported for information (no target).
(b) ``hard`` -- random high-order sequences with noise, where the TM keeps bursting: 30 random
    40-of-2048 column patterns, 20 sequences of length 10 drawn from them (so patterns recur in
    many contexts), presented in random order without resets, with a share ``noise`` of every
    element's columns moved at random (:func:`hard_workload`); 2048 x 32 cells, 5000 steps.

(c) ``hotgym`` -- end to end, as ``htmkit run`` does it: the hourly gym power data
    (``../shared/data/sequences/rec-center-hourly.csv``, 4391 rows; value + timestamp) through
    the default :class:`~htmkit.model.HTMModel` (RDSE + time of day -> SP 2048 columns -> TM 32
    cells/column -> 1-step predictor + anomaly likelihood). Timed: the per-record
    ``model.run`` loop (encoding, SP, TM, predictor, likelihood), excluding CSV reading and model
    construction. Reference: htm.core's bundled hotgym example (same data, SP + TM + predictor +
    likelihood, ``HOTGYM_REFERENCE_MS`` per record); the target is ``HOTGYM_TARGET_MS``.
    Skipped with a message when the data folder is absent.

The measured figures are in docs/experiments/speed.md.

Both wall-clock time (``time.perf_counter``) and the thread's CPU time (``time.thread_time``,
less sensitive to other processes on a shared machine) are reported; the target is checked
against wall-clock time. Peak memory is measured in a separate, untimed run as the peak of the
allocations traced by :mod:`tracemalloc` (numpy arrays included: the TM's stores and their
transient copies while they grow), next to the TM's final array bytes.
"""

from __future__ import annotations

import math
import os
import platform
import time
import tracemalloc
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..sdr import SDR

REFERENCE_MS = 0.145   # htm.core TemporalMemory (C++), workload (a)
TARGET_MS = 0.10       # workload (a)
SINE_PERIOD = 100
SINE_NOISE = 0.01
SINE_NOISE_SP_BENCH = 0.05
ENCODER_BITS = 2048
ENCODER_ACTIVE = 41
ENCODER_RANGE = (-1.5, 1.5)

SP_PARAMS: dict[str, Any] = dict(
    input_dimensions=(ENCODER_BITS,), column_dimensions=(2048,), potential_radius=ENCODER_BITS,
    potential_pct=0.85, global_inhibition=True, num_active_columns_per_inh_area=40,
    syn_perm_active_inc=0.04, syn_perm_inactive_dec=0.008, syn_perm_connected=0.1,
    boost_strength=0.0, seed=42,
)
TM_PARAMS: dict[str, Any] = dict(
    column_dimensions=(2048,), cells_per_column=32, activation_threshold=13,
    min_threshold=10, max_new_synapse_count=20, initial_permanence=0.21,
    connected_permanence=0.5, permanence_increment=0.1, permanence_decrement=0.1,
    predicted_segment_decrement=0.0, max_segments_per_cell=255,
    max_synapses_per_segment=255, seed=42,
)


@dataclass
class Workload:
    key: str
    name: str
    description: str
    columns: list[SDR] = field(repr=False)
    target_ms: float | None = None
    reference_ms: float | None = None


# ============================================================================ workloads
def encode_scalar(value: float) -> SDR:
    """A contiguous block of 41 of 2048 bits whose position encodes ``value``."""
    lo, hi = ENCODER_RANGE
    v = min(max(value, lo), hi)
    start = int(round((v - lo) / (hi - lo) * (ENCODER_BITS - ENCODER_ACTIVE)))
    return SDR._trusted((ENCODER_BITS,), np.arange(start, start + ENCODER_ACTIVE))


def sine_columns(steps: int, noise: float, seed: int = 7) -> tuple[list[SDR], str]:
    """Noisy sine -> inline scalar encoding -> Spatial Pooler (learning) -> active columns."""
    rng = np.random.default_rng(seed)
    t = np.arange(steps)
    values = np.sin(2 * math.pi * t / SINE_PERIOD) + rng.normal(0.0, noise, steps)
    inputs = [encode_scalar(float(v)) for v in values]
    from ..spatial_pooler import SpatialPooler

    sp = SpatialPooler(**SP_PARAMS)
    return [sp.compute(x, learn=True) for x in inputs], "htmkit SpatialPooler (learning)"


def stream_workload(steps: int = 2000, noise: float = SINE_NOISE) -> Workload:
    """Workload (a) (or (a2) with ``noise=SINE_NOISE_SP_BENCH``)."""
    columns, source = sine_columns(steps, noise)
    desc = (f"noisy sine (period {SINE_PERIOD}, noise sd {noise}) -> {ENCODER_BITS} bits/"
            f"{ENCODER_ACTIVE} active -> {source}, 2048 columns/40 active -> TM 2048x32, "
            f"{steps} steps")
    if noise == SINE_NOISE:
        return Workload("stream", "a: stream (sine + SP)", desc, columns, TARGET_MS,
                        REFERENCE_MS)
    return Workload("stream-noisy", f"a2: stream, noise {noise}", desc, columns)


def hard_workload(steps: int = 5000, seed: int = 11, n_patterns: int = 30,
                  n_sequences: int = 20, length: int = 10, noise: float = 0.15) -> Workload:
    """Workload (b): random high-order sequences with noise; the TM keeps bursting."""
    rng = np.random.default_rng(seed)
    patterns = [np.sort(rng.choice(2048, 40, replace=False)) for _ in range(n_patterns)]
    sequences = [rng.integers(0, n_patterns, length) for _ in range(n_sequences)]
    columns: list[SDR] = []
    while len(columns) < steps:
        for sym in sequences[int(rng.integers(n_sequences))]:
            sdr = SDR._trusted((2048,), patterns[sym])
            columns.append(sdr.add_noise(noise, seed=int(rng.integers(2**31))))
    desc = (f"{n_sequences} random sequences of {length} over {n_patterns} patterns of 40 "
            f"columns, random order, no reset, {round(noise * 100)}% of the columns moved -> "
            f"TM 2048x32, {steps} steps")
    return Workload("hard", "b: hard (high-order + noise)", desc, columns[:steps])


# ============================================================================ measurement
def _new_tm() -> Any:
    from ..temporal_memory import TemporalMemory

    return TemporalMemory(**TM_PARAMS)


def run_tm(columns: list[SDR]) -> tuple[float, float, Any]:
    """Feed ``columns`` to a fresh TM; returns (wall s, CPU s, tm). Only compute() is timed."""
    tm = _new_tm()
    compute = tm.compute
    w0 = time.perf_counter()
    c0 = time.thread_time()
    for c in columns:
        compute(c, True)
    c1 = time.thread_time()
    w1 = time.perf_counter()
    return w1 - w0, c1 - c0, tm


def _tm_nbytes(tm: Any) -> int:
    n = tm.basal_store.nbytes()
    if tm.apical_store is not None:
        n += tm.apical_store.nbytes()
    return n + sum(int(a.nbytes) for a in (tm._rng, tm._counts, tm._i32, tm._flags, tm._seg,
                                             tm._apseg))


def measure(w: Workload, repeats: int) -> dict[str, Any]:
    """Warm-up, ``repeats`` timed runs, then one traced (untimed) run for memory/anomaly."""
    cols = w.columns
    run_tm(cols[: min(len(cols), 100)])  # warm-up: load (or compile) the kernels
    wall, cpu = [], []
    tm: Any = None
    for _ in range(repeats):
        ws, cs, tm = run_tm(cols)
        wall.append(ws / len(cols) * 1e3)
        cpu.append(cs / len(cols) * 1e3)
    traced = _new_tm()
    scores = []
    tracemalloc.start()
    for c in cols:
        traced.compute(c, True)
        scores.append(traced.anomaly)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    med = float(np.median(wall))
    return {
        "key": w.key,
        "workload": w.name,
        "description": w.description,
        "steps": len(cols),
        "repeats": repeats,
        "ms_per_step_median": med,
        "ms_per_step_min": float(np.min(wall)),
        "ms_per_step_all": [float(x) for x in wall],
        "cpu_ms_per_step_median": float(np.median(cpu)),
        "target_ms_per_step": w.target_ms,
        "htm_core_ms_per_step": w.reference_ms,
        "meets_target": None if w.target_ms is None else med <= w.target_ms,
        "segments": int(tm.num_segments()),
        "synapses": int(tm.num_synapses()),
        "peak_traced_mb": peak / 2**20,
        "tm_arrays_mb": _tm_nbytes(traced) / 2**20,
        "mean_anomaly_last_quarter": float(np.mean(scores[len(scores) * 3 // 4:])),
        "mean_active_columns": float(np.mean([c.num_active for c in cols])),
    }


HOTGYM_REFERENCE_MS = 3.0  # htm.core's hotgym example, ms per record end to end
HOTGYM_TARGET_MS = 1.0


def hotgym_path() -> Any:
    """The hotgym CSV under ``../shared/data/sequences`` (CWD first, then beside the repo)."""
    from pathlib import Path

    name = "rec-center-hourly.csv"
    for base in (Path.cwd() / ".." / "shared", Path(__file__).resolve().parents[4] / "shared"):
        p = base / "data" / "sequences" / name
        if p.exists():
            return p
    return None


def measure_hotgym(repeats: int, quick: bool = False) -> dict[str, Any] | None:
    """Workload (c): the default HTMModel over the hotgym stream, ms per record."""
    from ..model import HTMModel
    from ..streams import read_csv_stream

    path = hotgym_path()
    if path is None:
        return None
    stream = read_csv_stream(path, "kw_energy_consumption", "timestamp")
    n = 800 if quick else len(stream)
    assert stream.timestamps is not None  # the hotgym file has its timestamp column
    records = [{"value": float(v), "timestamp": t}
               for v, t in zip(stream.values[:n], stream.timestamps[:n], strict=True)]
    HTMModel.for_data(stream.values).run(records[0])  # warm-up: load the kernels
    wall, cpu = [], []
    model: Any = None
    preds = np.zeros(n)
    for _ in range(repeats):
        model = HTMModel.for_data(stream.values)
        w0, c0 = time.perf_counter(), time.thread_time()
        for i, rec in enumerate(records):
            preds[i] = model.run(rec).predictions[1]
        wall.append((time.perf_counter() - w0) / n * 1e3)
        cpu.append((time.thread_time() - c0) / n * 1e3)
    truth = stream.values[1:n]
    est = preds[: n - 1]
    ok = np.isfinite(est)
    start = n // 10
    err = (truth - est)[start:][ok[start:]]
    med = float(np.median(wall))
    return {
        "key": "c",
        "workload": "c hotgym: htmkit run end to end",
        "description": f"{path.name}, {n} records, default HTMModel (SP 2048 columns, TM 32 "
                       f"cells/column, 1-step predictor, anomaly likelihood)",
        "steps": n,
        "repeats": repeats,
        "ms_per_step_median": med,
        "ms_per_step_min": float(np.min(wall)),
        "ms_per_step_all": [float(x) for x in wall],
        "cpu_ms_per_step_median": float(np.median(cpu)),
        "target_ms_per_step": HOTGYM_TARGET_MS,
        "htm_core_ms_per_step": HOTGYM_REFERENCE_MS,
        "meets_target": med <= HOTGYM_TARGET_MS,
        "segments": int(model.tm.num_segments()),
        "synapses": int(model.tm.num_synapses()),
        "peak_traced_mb": float("nan"),
        "tm_arrays_mb": _tm_nbytes(model.tm) / 2**20,
        "mean_anomaly_last_quarter": float("nan"),
        "mean_active_columns": 40.0,
        "nrmse_1step_after_10pct": float(np.sqrt(np.mean(err**2)) / np.std(truth[start:])),
    }


def run_benchmark(repeats: int = 5, quick: bool = False) -> dict[str, Any]:
    """Build the workloads and measure them; returns a JSON-able report."""
    steps_a, steps_b = (500, 1000) if quick else (2000, 5000)
    workloads = [stream_workload(steps_a), stream_workload(steps_a, SINE_NOISE_SP_BENCH),
                 hard_workload(steps_b)]
    results = [measure(w, repeats) for w in workloads]
    hotgym = measure_hotgym(max(1, min(repeats, 3)), quick)
    if hotgym is not None:
        results.append(hotgym)
    else:
        print("workload (c) skipped: ../shared/data/sequences/rec-center-hourly.csv not found")
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "benchmark": "tm",
        "quick": quick,
        "tm_params": {k: list(v) if isinstance(v, tuple) else v for k, v in TM_PARAMS.items()},
        "sp_params": {k: list(v) if isinstance(v, tuple) else v for k, v in SP_PARAMS.items()},
        "reference": f"htm.core TemporalMemory (C++): {REFERENCE_MS} ms/step on workload (a)",
        "target_ms_per_step": TARGET_MS,
        "machine": {"python": platform.python_version(), "cpu_count": os.cpu_count(),
                    "platform": platform.platform(),
                    "load_average": list(load) if load else None},
        "results": results,
    }


def print_report(report: dict[str, Any]) -> None:
    """Print the report as a rich table."""
    from rich.console import Console
    from rich.table import Table

    def fmt(v: float | None, digits: int = 3) -> str:
        return "-" if v is None else f"{v:.{digits}f}"

    table = Table(title="htmkit bench tm: TemporalMemory.compute(learn=True), ms/step")
    for col in ("", "median", "min", "CPU", "target", "htm.core", "ok", "segments",
                "synapses", "peak MB", "anomaly"):
        table.add_column(col, justify="left" if col == "" else "right")
    for r in report["results"]:
        ok = r["meets_target"]
        table.add_row(r["workload"].split(":")[0].split(" ")[0], fmt(r["ms_per_step_median"]),
                      fmt(r["ms_per_step_min"]), fmt(r["cpu_ms_per_step_median"]),
                      fmt(r["target_ms_per_step"]), fmt(r["htm_core_ms_per_step"]),
                      "-" if ok is None else ("yes" if ok else "NO"),
                      f"{r['segments']:,}", f"{r['synapses']:,}",
                      fmt(r["peak_traced_mb"], 1), fmt(r["mean_anomaly_last_quarter"], 2))
    console = Console()
    console.print(table)
    for r in report["results"]:
        console.print(f"[bold]{r['workload']}[/bold]: {r['description']}; TM arrays "
                      f"{r['tm_arrays_mb']:.1f} MB at the end.")
    load = report["machine"]["load_average"]
    console.print(
        "median/min: wall-clock (time.perf_counter); CPU: time.thread_time. anomaly: mean raw "
        "anomaly over the last quarter of the stream. peak MB: tracemalloc peak (numpy "
        "included) in an untimed run." + (f" Load average at the end: {load[0]:.1f} on "
                                          f"{report['machine']['cpu_count']} cores."
                                          if load else ""))
