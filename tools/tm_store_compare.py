"""Side-by-side TM step time and store size of two htmkit checkouts (``bench tm`` workloads).

Runs each workload in a fresh child process per (checkout, repeat), alternating the two
checkouts, and reports medians of the TM's CPU time per step (``time.process_time`` around
the compute loop, after a warm-up run that loads the kernels), the share of it spent in
``TemporalMemory._make_room`` (Python-side growth of the stores), segments, synapses and the
basal store's bytes per held synapse.

    python tools/tm_store_compare.py --base /tmp/tmstore-base/src --new src \\
        --workloads a,b,c --repeats 3 --out /tmp/tm-store-compare.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

HOTGYM = os.environ.get("HTMKIT_HOTGYM", "/work/shared/data/sequences/rec-center-hourly.csv")


def child(workload: str, steps: int) -> dict[str, Any]:
    """One measured run in this process (the checkout on ``PYTHONPATH``)."""
    from htmkit.bench import tm as B
    from htmkit.temporal_memory import TemporalMemory

    grow = [0.0]
    orig = TemporalMemory._make_room

    def timed(self: Any) -> None:
        t = time.process_time()
        orig(self)
        grow[0] += time.process_time() - t

    TemporalMemory._make_room = timed  # type: ignore[method-assign]
    if workload in ("a", "a2", "b"):
        if workload == "a":
            cols = B.stream_workload(steps or 2000).columns
        elif workload == "a2":
            cols = B.stream_workload(steps or 2000, B.SINE_NOISE_SP_BENCH).columns
        else:
            cols = B.hard_workload(steps or 5000).columns
        warm = TemporalMemory(**B.TM_PARAMS)
        for c in cols[:100]:
            warm.compute(c)
        tm = TemporalMemory(**B.TM_PARAMS)
        grow[0] = 0.0
        t0 = time.process_time()
        for c in cols:
            tm.compute(c, True)
        cpu = time.process_time() - t0
        n = len(cols)
    else:  # c: the default HTMModel over hotgym, only the TM's compute timed
        from htmkit.model import HTMModel
        from htmkit.streams import read_csv_stream

        stream = read_csv_stream(HOTGYM, "kw_energy_consumption", "timestamp")
        n = min(len(stream), steps or len(stream))
        assert stream.timestamps is not None
        recs = [{"value": float(v), "timestamp": t}
                for v, t in zip(stream.values[:n], stream.timestamps[:n], strict=True)]
        HTMModel.for_data(stream.values).run(recs[0])
        model = HTMModel.for_data(stream.values)
        tm = model.tm
        spent = [0.0]
        orig_compute = type(tm).compute

        def timed_compute(self: Any, *a: Any, **k: Any) -> Any:
            t = time.process_time()
            out = orig_compute(self, *a, **k)
            spent[0] += time.process_time() - t
            return out

        type(tm).compute = timed_compute  # type: ignore[method-assign]
        grow[0] = 0.0
        for r in recs:
            model.run(r)
        cpu = spent[0]
    store = tm.basal_store
    return {"cpu_ms_per_step": cpu / n * 1e3, "grow_share": grow[0] / cpu, "steps": n,
            "segments": int(tm.num_segments()), "synapses": int(tm.num_synapses()),
            "store_bytes": int(store.nbytes()),
            "bytes_per_synapse": store.nbytes() / max(1, tm.num_synapses())}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--new", required=True)
    ap.add_argument("--workloads", default="a,b,c")
    ap.add_argument("--steps", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(child(a.child, a.steps)))
        return
    report: dict[str, Any] = {"command": " ".join(sys.argv), "workloads": {}}
    for w in a.workloads.split(","):
        runs: dict[str, list[dict[str, Any]]] = {"base": [], "new": []}
        for _ in range(a.repeats):
            for name, path in (("base", a.base), ("new", a.new)):
                env = dict(os.environ, PYTHONPATH=os.path.abspath(path))
                out = subprocess.run([sys.executable, __file__, "--base", a.base, "--new",
                                      a.new, "--child", w, "--steps", str(a.steps)],
                                     env=env, capture_output=True, text=True, check=True)
                runs[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
        row: dict[str, Any] = {}
        for name, rs in runs.items():
            row[name] = {
                "cpu_ms_per_step_median": statistics.median(r["cpu_ms_per_step"] for r in rs),
                "cpu_ms_per_step_all": [r["cpu_ms_per_step"] for r in rs],
                "grow_share_median": statistics.median(r["grow_share"] for r in rs),
                **{k: rs[-1][k] for k in ("steps", "segments", "synapses", "store_bytes",
                                          "bytes_per_synapse")},
            }
        row["speedup"] = (row["base"]["cpu_ms_per_step_median"]
                          / row["new"]["cpu_ms_per_step_median"])
        report["workloads"][w] = row
        print(w, json.dumps(row, indent=1), flush=True)
    if a.out:
        with open(a.out, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
