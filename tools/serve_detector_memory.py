"""Memory of the anomaly service's detectors alone, for comparison with ``htmkit bench serve``.

Builds ``N`` default ``AnomalyDetector`` (value range 0-120, as the load test's streams) in this
process, feeds each the load test's records (``htmkit.service.loadtest.stream_records``) a
hundred at a time, streams interleaved, and prints the RSS added per detector at creation and
after the records (one-time costs, the imports and the loaded kernels, are left out by
measuring from a detector built and run beforehand).

Usage::

    python tools/serve_detector_memory.py 20 1000
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from htmkit.detector import AnomalyDetector
from htmkit.service.backend import parse_timestamp
from htmkit.service.loadtest import stream_records


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def main(n: int, records: int) -> dict[str, float]:
    warm = AnomalyDetector(min_value=0.0, max_value=120.0)
    for r in stream_records(99, 5):
        warm.update(parse_timestamp(r["timestamp"], "timestamp")[0], r["value"])
    base = rss_mb()
    dets = [AnomalyDetector(min_value=0.0, max_value=120.0) for _ in range(n)]
    created = rss_mb()
    for start in range(0, records, 100):
        for i, d in enumerate(dets):
            for r in stream_records(i, min(100, records - start), start):
                d.update(parse_timestamp(r["timestamp"], "timestamp")[0], r["value"])
    after = rss_mb()
    return {"detectors": n, "records": records,
            "created_mb_each": round((created - base) / n, 2),
            "after_mb_each": round((after - base) / n, 2)}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), int(sys.argv[2]))))
