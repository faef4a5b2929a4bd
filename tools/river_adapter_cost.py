"""What River's protocol costs around one HTM step: milliseconds per record of
``AnomalyDetector.update``, of the adapter's ``learn_one`` alone, and of ``score_one`` then
``learn_one`` (River's prequential loop), on the first records of a NAB series with the default
detector. The three run side by side on the same records, alternating in chunks, and the
medians over the chunks are reported.

    python tools/river_adapter_cost.py [--series realKnownCause/nyc_taxi.csv] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import pandas as pd


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nab-dir", default="/work/shared/data/nab")
    ap.add_argument("--series", default="realKnownCause/nyc_taxi.csv")
    ap.add_argument("--warm", type=int, default=400, help="records before timing")
    ap.add_argument("--chunk", type=int, default=100, help="records per timed chunk")
    ap.add_argument("--chunks", type=int, default=5)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()

    from htmkit.detector import AnomalyDetector
    from htmkit.river_adapter import HTMAnomalyDetector

    frame = pd.read_csv(Path(args.nab_dir) / "data" / args.series)
    stamps = pd.DatetimeIndex(pd.to_datetime(frame["timestamp"]))
    values = frame["value"].astype(float).tolist()
    lo, hi = min(values), max(values)
    n = args.warm + args.chunk * args.chunks
    if n > len(values):
        raise SystemExit(f"{args.series} has {len(values)} records; {n} needed")
    kw = {"min_value": lo, "max_value": hi, "probationary_period": 750, "seed": 1}
    plain = AnomalyDetector(**kw)
    learner = HTMAnomalyDetector(value_key="value", timestamp_key="timestamp", **kw)
    prequential = HTMAnomalyDetector(value_key="value", timestamp_key="timestamp", **kw)
    records = [{"timestamp": t, "value": v} for t, v in zip(stamps[:n], values[:n], strict=True)]
    for x in records[: args.warm]:
        plain.update(x["timestamp"], x["value"])
        learner.learn_one(x)
        prequential.learn_one(x)

    times: dict[str, list[float]] = {"update": [], "learn_one": [], "score_one+learn_one": []}
    same = True
    for c in range(args.chunks):
        chunk = records[args.warm + c * args.chunk: args.warm + (c + 1) * args.chunk]
        t0 = time.perf_counter()
        ref = [plain.update(x["timestamp"], x["value"]) for x in chunk]
        times["update"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for x in chunk:
            learner.learn_one(x)
        times["learn_one"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        got = []
        for x in chunk:
            got.append(prequential.score_one(x))
            prequential.learn_one(x)
        times["score_one+learn_one"].append(time.perf_counter() - t0)
        same = same and got == ref
    ms = {k: 1e3 * statistics.median(v) / args.chunk for k, v in times.items()}
    report = {"benchmark": "river-adapter", "series": args.series, "warm_records": args.warm,
              "chunk": args.chunk, "chunks": args.chunks, "ms_per_record_median": ms,
              "scores_equal_update": same}
    for k, v in ms.items():
        print(f"{k:>22}: {v:7.2f} ms/record")
    print(f"score_one+learn_one scores == update scores: {same}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
