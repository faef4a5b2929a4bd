"""Microseconds of CPU time per Spatial Pooler step (learning) of the default detector's SP on
random inputs of 40 active bits, median over 10 chunks of 280 steps: run it with both
checkouts alternately.

    PYTHONPATH=src python tools/sp_step_time.py LABEL [--nab-dir DIR]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd

from htmkit.detector import AnomalyDetector
from htmkit.sdr import SDR


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("label")
    ap.add_argument("--nab-dir", default="/work/shared/data/nab")
    args = ap.parse_args()
    frame = pd.read_csv(f"{args.nab_dir}/data/realKnownCause/nyc_taxi.csv")
    values = frame["value"].astype(float).to_numpy()
    det = AnomalyDetector.for_nab(min_value=float(values.min()), max_value=float(values.max()),
                                  probationary_period=750, seed=42)
    sp = det.network["sp"].core
    n = sp.num_inputs
    rng = np.random.default_rng(0)
    inputs = [SDR.from_dense(np.isin(np.arange(n), rng.choice(n, 40, replace=False)))
              for _ in range(3000)]
    for x in inputs[:200]:
        sp.compute(x, True)
    chunks = []
    for c in range(10):
        t0 = time.process_time()
        for x in inputs[200 + c * 280: 200 + (c + 1) * 280]:
            sp.compute(x, True)
        chunks.append((time.process_time() - t0) / 280 * 1e6)
    print(args.label, "SP step (us CPU, median of 10 chunks):",
          round(statistics.median(chunks), 1), "num_inputs", n)


if __name__ == "__main__":
    main()
