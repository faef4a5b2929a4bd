"""``htmkit bench memory``: where an :class:`~htmkit.detector.AnomalyDetector`'s memory goes.

Two measurements on real NAB series:

* **many models** (:func:`run_many`): ``K`` detectors, each on its own NAB series, run
  interleaved record by record in one process for ``N`` records each. Reported: the process'
  resident memory (RSS) added per model, the saved file size of one model, the bytes of each
  component of one model (Spatial Pooler synapse store and other arrays, backtracking TM
  segment/synapse arrays, its forward index and per-cell arrays, the likelihood history, the
  encoders, and what RSS holds beyond the arrays: Python objects and allocator slack), models
  per GiB, and records per CPU-second with the models interleaved against one model alone.
* **one endless stream** (:func:`run_long`): one detector on NAB series concatenated, with the
  CPU time per record, the RSS and the TM's segment and synapse counts sampled every
  ``sample_every`` records.

RSS is read from ``/proc/self/statm`` (Linux); elsewhere it is reported as 0. Numba kernels
are compiled by a throw-away detector before the first RSS reading, so compilation is not
charged to the models.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError

__all__ = ["run_many", "run_long", "breakdown", "nab_series", "print_report", "plot_long"]

#: Series used first (long ones of realKnownCause, then the rest of the corpus in name order).
PREFERRED = (
    "realKnownCause/machine_temperature_system_failure.csv",
    "realKnownCause/nyc_taxi.csv",
    "realKnownCause/ambient_temperature_system_failure.csv",
    "realKnownCause/cpu_utilization_asg_misconfiguration.csv",
    "realKnownCause/ec2_request_latency_system_failure.csv",
    "realKnownCause/rogue_agent_key_hold.csv",
)


def rss_bytes() -> int:
    """Resident set size of this process in bytes (0 where ``/proc`` is missing)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _default_nab_dir() -> Path:
    env = os.environ.get("HTMKIT_NAB_DIR")
    if env:
        return Path(env)
    here = Path.cwd()
    for cand in (here / "../shared/data/nab", here / "../../shared/data/nab",
                 Path("/work/shared/data/nab")):
        if (cand / "data").is_dir():
            return cand.resolve()
    return here / "../shared/data/nab"


def nab_series(nab_dir: str | os.PathLike[str] | None = None,
               min_records: int = 0) -> list[tuple[str, list[Any], np.ndarray]]:
    """NAB series as ``(name, timestamps (datetime), values)``, :data:`PREFERRED` first, then
    the others in name order; only those with at least ``min_records`` records."""
    import pandas as pd

    root = Path(nab_dir) if nab_dir is not None else _default_nab_dir()
    data = root / "data"
    if not data.is_dir():
        raise InputError(f"nab_dir: no NAB data under {data}")
    names = [p.relative_to(data).as_posix() for p in sorted(data.glob("*/*.csv"))]
    order = [n for n in PREFERRED if n in names] + [n for n in names if n not in PREFERRED]
    out = []
    for name in order:
        df = pd.read_csv(data / name)
        if len(df) < min_records:
            continue
        stamps = list(pd.to_datetime(df["timestamp"]).dt.to_pydatetime())
        out.append((name, stamps, df["value"].to_numpy(dtype=np.float64)))
    return out


def _make(values: np.ndarray, seed: int) -> Any:
    from ..detector import AnomalyDetector

    return AnomalyDetector.for_nab(min_value=float(values.min()), max_value=float(values.max()),
                                   probationary_period=750, seed=seed)


def _arrays(obj: Any, seen: set[int]) -> int:
    """Bytes of the numpy arrays reachable from ``obj`` (each array once)."""
    if isinstance(obj, np.ndarray):
        base = obj if obj.base is None else obj.base
        if id(base) in seen or not isinstance(base, np.ndarray):
            return 0
        seen.add(id(base))
        return int(base.nbytes)
    if id(obj) in seen or isinstance(obj, (str, bytes, int, float, bool, type(None))):
        return 0
    seen.add(id(obj))
    if isinstance(obj, dict):
        return sum(_arrays(v, seen) for v in obj.values())
    if isinstance(obj, (list, tuple, set)):
        return sum(_arrays(v, seen) for v in obj)
    total = 0
    if hasattr(obj, "__dict__"):
        total += sum(_arrays(v, seen) for v in vars(obj).values())
    for slot in getattr(type(obj), "__slots__", ()):
        if hasattr(obj, slot):
            total += _arrays(getattr(obj, slot), seen)
    return total


#: The backtracking TM's arrays by component (keys of ``BacktrackingTemporalMemory._a``).
BTM_GROUPS = {
    "btm_segments_synapses": ("seg_i32", "seg_i64", "syn_src", "syn_perm", "free"),
    "btm_forward_index": ("pos_out", "out_pool", "out_start", "out_len"),
    "btm_cell_segment_lists": ("cell_segs", "cell_nseg"),
}


def breakdown(det: Any) -> dict[str, int]:
    """Bytes of one detector's arrays by component (allocated sizes: RSS counts only the
    pages touched)."""
    net = det.network
    seen: set[int] = set()
    out: dict[str, int] = {}
    sp = net["sp"].core
    out["sp_synapse_store"] = _arrays(sp._store, seen)
    out["sp_other_arrays"] = _arrays(net["sp"], seen)
    tm = net["tm"].core
    for group, keys in BTM_GROUPS.items():
        out[group] = sum(_arrays(tm._a[k], seen) for k in keys if k in tm._a)
    out["btm_states_histories_scratch"] = _arrays(net["tm"], seen)
    out["likelihood"] = _arrays(net["likelihood"], seen)
    out["encoders"] = _arrays(net["value"], seen) + _arrays(net["timestamp"], seen)
    out["other_arrays"] = _arrays(det, seen)
    return out


def _release_freed() -> None:
    """Collect garbage and hand memory freed by earlier runs back to the system (glibc's
    ``malloc_trim``; a no-op elsewhere), so that a later run's RSS is not lowered by reusing
    it."""
    gc.collect()
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _saved_bytes(det: Any, path: Path) -> int:
    det.save(path)
    size = path.stat().st_size
    path.unlink()
    return int(size)


def _warm(series: list[tuple[str, list[Any], np.ndarray]]) -> None:
    _, stamps, values = series[0]
    det = _make(values, 0)
    for i in range(min(300, len(values))):
        det.update(stamps[i], values[i])
    del det
    _release_freed()


def run_many(models: int = 20, records: int = 10_000, alone_records: int | None = None,
             nab_dir: str | os.PathLike[str] | None = None, seed: int = 42,
             tmp_dir: str | os.PathLike[str] = ".") -> dict[str, Any]:
    """Run ``models`` detectors interleaved for ``records`` records each (each on its own NAB
    series of at least ``records`` records, reused with other seeds when there are fewer
    series), then one detector alone for ``alone_records`` (default ``records``) records."""
    if models < 1 or records < 1:
        raise InputError("models and records must be >= 1")
    series = nab_series(nab_dir, min_records=records)
    if not series:
        raise InputError(f"records: no NAB series has {records} records")
    _warm(series)
    _release_freed()
    rss0 = rss_bytes()
    dets, feeds = [], []
    for i in range(models):
        name, stamps, values = series[i % len(series)]
        dets.append(_make(values, seed + i // len(series)))
        feeds.append((name, stamps, values))
    rss_built = rss_bytes()
    t0 = time.process_time()
    w0 = time.perf_counter()
    for r in range(records):
        for det, (_, stamps, values) in zip(dets, feeds, strict=True):
            det.update(stamps[r], values[r])
    cpu = time.process_time() - t0
    wall = time.perf_counter() - w0
    gc.collect()
    rss1 = rss_bytes()
    parts = breakdown(dets[0])
    tm = dets[0].network["tm"].core
    saved = _saved_bytes(dets[0], Path(tmp_dir) / f".bench-memory-{os.getpid()}.htm")
    per_model = (rss1 - rss0) / models
    arrays_total = sum(parts.values())
    parts["python_objects_and_slack"] = int(per_model - arrays_total)
    segs = [d.network["tm"].core.num_segments() for d in dets]
    syns = [d.network["tm"].core.num_synapses() for d in dets]
    del dets
    gc.collect()
    # one model alone on the first series
    n_alone = records if alone_records is None else alone_records
    _, stamps, values = series[0]
    det = _make(values, seed)
    t1 = time.process_time()
    for r in range(min(n_alone, len(values))):
        det.update(stamps[r], values[r])
    cpu_alone = time.process_time() - t1
    n_alone = min(n_alone, len(values))
    return {
        "models": models, "records": records,
        "series": sorted({f[0] for f in feeds}),
        "rss_start_mib": rss0 / 2**20, "rss_built_mib": rss_built / 2**20,
        "rss_end_mib": rss1 / 2**20,
        "rss_per_model_built_mib": (rss_built - rss0) / models / 2**20,
        "rss_per_model_mib": per_model / 2**20,
        "models_per_gib": 2**30 / per_model if per_model > 0 else None,
        "saved_file_mib": saved / 2**20,
        "breakdown_mib_model0": {k: v / 2**20 for k, v in parts.items()},
        "btm_segments_mean": float(np.mean(segs)), "btm_synapses_mean": float(np.mean(syns)),
        "btm_segment_capacity_model0": int(tm._a["seg_i32"].shape[1]),
        "interleaved_records_per_cpu_s": models * records / cpu,
        "interleaved_wall_s": wall,
        "alone_records": n_alone,
        "alone_records_per_cpu_s": n_alone / cpu_alone,
    }


def run_long(records: int = 100_000, sample_every: int = 5_000,
             nab_dir: str | os.PathLike[str] | None = None, seed: int = 42,
             max_cpu_s: float | None = None,
             progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """One detector on NAB series concatenated for ``records`` records (stopping early after
    ``max_cpu_s`` CPU seconds), sampled every ``sample_every`` records (each sample is also
    handed to ``progress``). Each series is scaled to [0, 100] by its own range (so that
    every series uses the encoder's whole range, as it does when NAB runs it alone), and the
    timestamps of each later series are shifted so that time runs on."""
    import datetime as dt

    series = []
    for name, stamps, values in nab_series(nab_dir):
        width = float(values.max() - values.min())
        scaled = (values - values.min()) * (100.0 / width) if width > 0 else values * 0.0
        series.append((name, stamps, scaled))
    lo, hi = 0.0, 100.0
    _warm(series)
    det = _make(np.array([lo, hi]), seed)
    rss0 = rss_bytes()
    samples: list[dict[str, Any]] = []
    t_prev = time.process_time()
    t_start = t_prev
    done = 0
    offset = dt.timedelta(0)
    last = None
    raw_sum = 0.0
    while done < records:
        for _name, stamps, values in series:
            if last is not None:
                offset = last - stamps[0] + dt.timedelta(minutes=5)
            for ts, v in zip(stamps, values, strict=True):
                det.update(ts + offset, float(v))
                done += 1
                raw_sum += det.network["tm"].core.anomaly
                if done % sample_every == 0:
                    now = time.process_time()
                    tm = det.network["tm"].core
                    samples.append({
                        "raw_anomaly_mean": raw_sum / sample_every,
                        "records": done,
                        "records_per_cpu_s": sample_every / max(now - t_prev, 1e-9),
                        "rss_mib": rss_bytes() / 2**20,
                        "rss_delta_mib": (rss_bytes() - rss0) / 2**20,
                        "segments": tm.num_segments(), "synapses": tm.num_synapses(),
                        "segment_capacity": int(tm._a["seg_i32"].shape[1]),
                    })
                    t_prev = now
                    raw_sum = 0.0
                    if progress is not None:
                        progress(samples[-1])
                    if max_cpu_s is not None and now - t_start > max_cpu_s:
                        records = done
                if done >= records:
                    break
            last = stamps[-1] + offset
            if done >= records:
                break
    return {"records": done, "sample_every": sample_every, "seed": seed,
            "value_range": [lo, hi], "samples": samples,
            "cpu_s": time.process_time() - t_start}


def print_report(report: dict[str, Any]) -> None:
    for run in report.get("many", []):
        print(f"{run['models']} models x {run['records']} records: "
              f"{run['rss_per_model_mib']:.2f} MiB RSS/model "
              f"({run['models_per_gib']:.1f} models/GiB), saved "
              f"{run['saved_file_mib']:.2f} MiB; "
              f"{run['interleaved_records_per_cpu_s']:.0f} rec/CPU-s interleaved, "
              f"{run['alone_records_per_cpu_s']:.0f} alone")
        for k, v in run["breakdown_mib_model0"].items():
            print(f"    {k:32s} {v:8.2f} MiB")
    long = report.get("long")
    if long:
        for s in long["samples"]:
            print(f"  {s['records']:>9d} records  {s['records_per_cpu_s']:8.0f} rec/CPU-s  "
                  f"RSS {s['rss_mib']:8.1f} MiB  segments {s['segments']:>9d}  "
                  f"synapses {s['synapses']:>10d}")


def plot_long(reports: dict[str, dict[str, Any]], path: str | os.PathLike[str]) -> None:
    """Plot records/CPU-s and RSS against records for each labelled long run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for label, rep in reports.items():
        xs = [s["records"] for s in rep["samples"]]
        ax1.plot(xs, [s["records_per_cpu_s"] for s in rep["samples"]], marker=".", label=label)
        ax2.plot(xs, [s["rss_delta_mib"] for s in rep["samples"]], marker=".", label=label)
    ax1.set_xlabel("records")
    ax1.set_ylabel("records per CPU-second")
    ax1.set_yscale("log")
    ax2.set_xlabel("records")
    ax2.set_ylabel("RSS added (MiB)")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
