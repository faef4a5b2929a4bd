"""Hash of the default detector's scores on 3 NAB series x 4,000 records (seed 42), to check
that a storage-only change leaves every score bit-identical: run it with both checkouts.

    PYTHONPATH=src python tools/detector_score_hash.py LABEL [--nab-dir DIR]
"""

from __future__ import annotations

import argparse
import hashlib

import numpy as np
import pandas as pd

from htmkit.detector import AnomalyDetector

SERIES = ("realKnownCause/machine_temperature_system_failure.csv",
          "realKnownCause/nyc_taxi.csv",
          "realKnownCause/ambient_temperature_system_failure.csv")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("label")
    ap.add_argument("--nab-dir", default="/work/shared/data/nab")
    ap.add_argument("--records", type=int, default=4000)
    args = ap.parse_args()
    print(args.label)
    for name in SERIES:
        frame = pd.read_csv(f"{args.nab_dir}/data/{name}")
        stamps = pd.to_datetime(frame["timestamp"])[: args.records]
        values = frame["value"].astype(float).to_numpy()
        det = AnomalyDetector.for_nab(min_value=float(values.min()),
                                      max_value=float(values.max()),
                                      probationary_period=int(0.15 * len(values)), seed=42)
        scores = np.array([det.update(t, x) for t, x in
                           zip(stamps, values[: args.records], strict=True)], dtype=np.float64)
        digest = hashlib.sha256(scores.tobytes()).hexdigest()[:16]
        print(f"  {name.split('/')[1]} {digest} max={scores.max():.6f}")


if __name__ == "__main__":
    main()
