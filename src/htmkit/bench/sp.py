"""Spatial Pooler benchmark (``htmkit bench sp``).

Two workloads, each measured on fresh, identically seeded Spatial Poolers after a warm-up that
compiles (or loads) the numba kernels; figures are medians over ``repeats``:

(a) ``stream`` -- the standard streaming workload: a noisy sine wave (period ``SINE_PERIOD``
    steps, Gaussian noise of standard deviation ``SINE_NOISE`` on an amplitude of 1) encoded as
    ``ENCODER_BITS`` bits with ``ENCODER_ACTIVE`` active (a contiguous block:
    :class:`htmkit.encoders.ScalarEncoder`, or the same block computed inline when the encoders
    are not installed), into 2048 columns with 40 active: global inhibition, potential pool over
    the whole input, no boosting, learning on (:data:`STREAM_PARAMS`); 2000 steps.
(b) ``image`` -- MNIST-like 28x28 binary images (the first images of MNIST's test set from
    ``../shared/data/mnist``, binarised at 128; synthetic digit-like strokes when the files are
    absent) into (28, 28, 8) columns: local inhibition, no wrap-around, learning on
    (:data:`IMAGE_PARAMS`).

The targets and the htm.core (C++) reference figures per workload are :data:`TARGETS`; the
measured figures are in docs/experiments/speed.md.

Timed: the construction of the SP, and ``compute(input, learn=True)`` over the stream (inputs
are encoded beforehand). Both wall-clock time (``time.perf_counter``) and the process's CPU
time (``time.thread_time``; less sensitive to other processes on a shared machine) are
reported; the targets are checked against wall-clock time. Peak memory is measured in a
separate, untimed run as the peak of the allocations traced by :mod:`tracemalloc` (numpy
arrays included) during construction and the whole stream, next to the SP's own array bytes.
"""

from __future__ import annotations

import math
import os
import platform
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..sdr import SDR

SINE_PERIOD = 100
SINE_NOISE = 0.05
ENCODER_BITS = 2048
ENCODER_ACTIVE = 41

STREAM_PARAMS: dict[str, Any] = dict(
    input_dimensions=(ENCODER_BITS,), column_dimensions=(2048,), potential_radius=ENCODER_BITS,
    potential_pct=0.85, global_inhibition=True, num_active_columns_per_inh_area=40,
    syn_perm_active_inc=0.04, syn_perm_inactive_dec=0.008, syn_perm_connected=0.1,
    boost_strength=0.0, seed=42,
)
IMAGE_PARAMS: dict[str, Any] = dict(
    input_dimensions=(28, 28), column_dimensions=(28, 28, 8), potential_radius=7,
    potential_pct=0.5, global_inhibition=False, local_area_density=0.1, wrap_around=False,
    syn_perm_active_inc=0.05, syn_perm_inactive_dec=0.008, syn_perm_connected=0.1, seed=42,
)

#: (target, htm.core reference) per workload and metric; None where there is none
TARGETS: dict[str, dict[str, tuple[float | None, float | None]]] = {
    "stream": {"ms_per_step": (0.25, 1.04), "construct_s": (0.5, 13.0)},
    "image": {"ms_per_step": (5.0, None), "construct_s": (None, None)},
}


@dataclass
class Workload:
    key: str
    name: str
    description: str
    params: dict[str, Any]
    inputs: list[SDR] = field(repr=False)


# ============================================================================ workloads
def _scalar_encoder() -> Callable[[float], SDR]:
    from ..encoders import ScalarEncoder

    enc = ScalarEncoder(minimum=-1.5, maximum=1.5, active_bits=ENCODER_ACTIVE,
                        size=ENCODER_BITS, clip=True)
    return enc.encode


def stream_workload(steps: int = 2000, seed: int = 7) -> Workload:
    """Workload (a): noisy sine wave -> 2048-bit scalar encoding."""
    rng = np.random.default_rng(seed)
    t = np.arange(steps)
    values = np.sin(2 * math.pi * t / SINE_PERIOD) + rng.normal(0.0, SINE_NOISE, steps)
    encode = _scalar_encoder()
    inputs = [encode(float(v)) for v in values]
    desc = (f"noisy sine (period {SINE_PERIOD}, noise sd {SINE_NOISE}) -> {ENCODER_BITS} bits/"
            f"{ENCODER_ACTIVE} active -> SP 2048 columns/40 active, global inhibition, "
            f"potential_pct 0.85 over the whole input, {steps} steps")
    return Workload("stream", "a: stream (sine, global)", desc, STREAM_PARAMS, inputs)


def synthetic_digits(n: int, seed: int = 0) -> np.ndarray:
    """``n`` digit-like 28x28 binary images: 2-4 random thick strokes and arcs near the centre."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:28, 0:28]
    out = np.zeros((n, 28, 28), dtype=bool)
    for i in range(n):
        img = np.zeros((28, 28), dtype=bool)
        for _ in range(int(rng.integers(2, 5))):
            if rng.random() < 0.5:  # straight stroke
                p0 = rng.uniform(6, 22, 2)
                p1 = rng.uniform(6, 22, 2)
                ts = np.linspace(0.0, 1.0, 40)[:, None]
                pts = p0 + ts * (p1 - p0)
            else:  # arc
                c = rng.uniform(10, 18, 2)
                r = rng.uniform(3, 7)
                a0 = rng.uniform(0, 2 * math.pi)
                angles = a0 + np.linspace(0, rng.uniform(math.pi, 2 * math.pi), 40)
                pts = c + r * np.stack([np.sin(angles), np.cos(angles)], axis=1)
            width = rng.uniform(1.0, 1.8)
            for y, x in pts:
                img |= (yy - y) ** 2 + (xx - x) ** 2 <= width**2
        out[i] = img
    return out


def image_workload(steps: int = 1000, n_images: int = 300, seed: int = 3) -> Workload:
    """Workload (b): MNIST (or synthetic) binary images, shown in a seeded random order."""
    source = "MNIST test images"
    try:
        from ..datasets import load_mnist

        images, _ = load_mnist(kind="test", limit=n_images)
        binary = images >= 128
    except Exception:  # no data files (or no loader): synthetic strokes
        binary = synthetic_digits(n_images, seed)
        source = "synthetic digit-like strokes (MNIST files not found)"
    rng = np.random.default_rng(seed)
    order = rng.integers(0, len(binary), steps)
    inputs = [SDR._trusted((28, 28), np.flatnonzero(binary[i])) for i in order]
    mean_bits = float(np.mean([x.num_active for x in inputs]))
    desc = (f"{source} ({len(binary)} images, 28x28 binarised, {mean_bits:.0f} active bits "
            f"on average) -> SP (28, 28, 8) columns, local inhibition, potential_radius 7, "
            f"density 0.1, no wrap, {steps} steps")
    return Workload("image", "b: image (28x28, local)", desc, IMAGE_PARAMS, inputs)


# ============================================================================ measuring
def _sp_nbytes(sp: Any) -> int:
    n = sp.synapses.nbytes()
    for name in ("_col_at", "_conn_at", "_slot_of", "_conn_dense", "_col_coords", "_in_coords"):
        a = getattr(sp, name, None)
        if isinstance(a, np.ndarray):
            n += a.nbytes
    return n


def run_once(workload: Workload) -> dict[str, float]:
    """Construct a fresh SP and feed the stream; returns timings in seconds."""
    from ..spatial_pooler import SpatialPooler

    t0, c0 = time.perf_counter(), time.thread_time()
    sp = SpatialPooler(**workload.params)
    t1, c1 = time.perf_counter(), time.thread_time()
    compute = sp.compute
    active = 0
    for x in workload.inputs:
        active += compute(x, True).num_active
    t2, c2 = time.perf_counter(), time.thread_time()
    n = len(workload.inputs)
    return {"construct_s": t1 - t0, "construct_cpu_s": c1 - c0,
            "ms_per_step": (t2 - t1) / n * 1e3, "cpu_ms_per_step": (c2 - c1) / n * 1e3,
            "mean_active": active / n, "inhibition_radius": sp.inhibition_radius}


def warm_up(workload: Workload) -> None:
    """Compile (or load from numba's cache) every kernel the workload uses."""
    from ..spatial_pooler import SpatialPooler

    sp = SpatialPooler(**workload.params)
    for x in workload.inputs[: min(len(workload.inputs), 120)]:
        sp.compute(x, True)


def measure(workload: Workload, repeats: int) -> dict[str, Any]:
    warm_up(workload)
    runs = [run_once(workload) for _ in range(repeats)]
    # memory: one more, untimed, traced run
    from ..spatial_pooler import SpatialPooler

    tracemalloc.start()
    sp = SpatialPooler(**workload.params)
    for x in workload.inputs:
        sp.compute(x, True)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    def med(key: str) -> float:
        return float(np.median([r[key] for r in runs]))

    out: dict[str, Any] = {
        "workload": workload.name,
        "description": workload.description,
        "params": {k: list(v) if isinstance(v, tuple) else v for k, v in workload.params.items()},
        "steps": len(workload.inputs),
        "repeats": repeats,
        "ms_per_step_median": med("ms_per_step"),
        "ms_per_step_min": float(min(r["ms_per_step"] for r in runs)),
        "cpu_ms_per_step_median": med("cpu_ms_per_step"),
        "construct_s_median": med("construct_s"),
        "construct_s_min": float(min(r["construct_s"] for r in runs)),
        "construct_cpu_s_median": med("construct_cpu_s"),
        "peak_traced_mb": peak / 2**20,
        "memory_method": "tracemalloc peak (numpy + Python allocations) over construction "
                         "and the whole stream",
        "sp_arrays_mb": _sp_nbytes(sp) / 2**20,
        "synapses": int(sp.synapses.num_synapses),
        "mean_active_columns": float(np.mean([r["mean_active"] for r in runs])),
        "inhibition_radius": int(runs[-1]["inhibition_radius"]),
        "runs": runs,
    }
    targets = TARGETS[workload.key]
    for metric, (target, ref) in targets.items():
        measured = out[f"{metric}_median"]
        out[f"{metric}_target"] = target
        out[f"{metric}_htm_core"] = ref
        out[f"{metric}_meets_target"] = None if target is None else bool(measured <= target)
    return out


def run_benchmark(repeats: int = 5, steps: int | None = None, quick: bool = False,
                  ) -> dict[str, Any]:
    """Build both workloads and measure them; returns a JSON-able report."""
    steps_a = steps if steps is not None else (500 if quick else 2000)
    steps_b = steps if steps is not None else (200 if quick else 1000)
    results = [measure(stream_workload(steps_a), repeats),
               measure(image_workload(steps_b), repeats)]
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "benchmark": "sp",
        "quick": quick,
        "reference": "htm.core SpatialPooler (C++): 1.04 ms/step and ~13 s construction on "
                     "workload (a)",
        "machine": {"python": platform.python_version(), "cpu_count": os.cpu_count(),
                    "platform": platform.platform(),
                    "load_average": list(load) if load else None},
        "results": results,
    }


def print_report(report: dict[str, Any]) -> None:
    """Print the report as a rich table."""
    from rich.console import Console
    from rich.table import Table

    def fmt(v: float | None) -> str:
        if v is None:
            return "-"
        return f"{v:.3f}" if v < 10 else f"{v:.1f}"

    def ok(flag: bool | None) -> str:
        return "-" if flag is None else ("yes" if flag else "NO")

    table = Table(title="htmkit bench sp: Spatial Pooler, learning on (medians)")
    for col in ("workload", "metric", "median", "min", "CPU", "target", "htm.core", "ok"):
        table.add_column(col, justify="left" if col in ("workload", "metric") else "right")
    for r in report["results"]:
        name = r["workload"].split(" (")[0]
        table.add_row(name, "ms/step", fmt(r["ms_per_step_median"]), fmt(r["ms_per_step_min"]),
                      fmt(r["cpu_ms_per_step_median"]), fmt(r["ms_per_step_target"]),
                      fmt(r["ms_per_step_htm_core"]), ok(r["ms_per_step_meets_target"]))
        table.add_row("", "construct s", fmt(r["construct_s_median"]),
                      fmt(r["construct_s_min"]), fmt(r["construct_cpu_s_median"]),
                      fmt(r["construct_s_target"]), fmt(r["construct_s_htm_core"]),
                      ok(r["construct_s_meets_target"]))
        table.add_row("", "peak MB", fmt(r["peak_traced_mb"]), "-", "-", "-", "-", "-")
    console = Console()
    console.print(table)
    for r in report["results"]:
        console.print(f"[bold]{r['workload']}[/bold]: {r['description']}; "
                      f"{r['synapses']:,} synapses, SP arrays {r['sp_arrays_mb']:.1f} MB, "
                      f"{r['mean_active_columns']:.1f} active columns/step, inhibition radius "
                      f"{r['inhibition_radius']}")
    load = report["machine"]["load_average"]
    console.print("Peak memory: tracemalloc peak of numpy + Python allocations during "
                  "construction and the stream. CPU time: time.thread_time (this process), "
                  "wall: time.perf_counter." + (f" Load average at the end: {load[0]:.1f} on "
                                                 f"{report['machine']['cpu_count']} cores."
                                                 if load else ""))
