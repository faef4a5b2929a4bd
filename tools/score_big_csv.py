"""A 5-million-row CSV through the streaming reader and ``htmkit anomaly``, memory sampled.

Writes a CSV of ``--rows`` rows (timestamp, value; a sine with noise and a few spikes) into a
temporary folder (deleted at the end), then

1. **reader** -- reads it whole through :class:`htmkit.streams.CsvStreamReader` (the scan
   pass, then every chunk, with a running mean as the cheap per-row work) in a subprocess that
   records its resident memory after each chunk;
2. **anomaly** -- runs ``htmkit anomaly FILE --out scores.csv`` in a subprocess, sampling its
   resident memory (``/proc/PID/status``) twice a second and reading its progress lines (the
   checking and reading passes over all rows, then the scoring); after ``--score-seconds`` of
   scoring it is stopped (the detector scores a few hundred rows a second: the whole file
   would take hours), unless ``--score-seconds 0`` lets it finish.

Prints and writes (``--json``) the resident memory at 10 %, 50 % and 100 % of each pass::

    PYTHONPATH=src python tools/score_big_csv.py --rows 5000000 --score-seconds 300 \\
        --json benchmarks/results/big-csv.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MB = 2**20


def write_csv(path: Path, rows: int, seed: int = 0) -> None:
    """``rows`` rows, one a minute from 2000-01-01, in blocks (memory stays small)."""
    rng = np.random.default_rng(seed)
    start = np.datetime64("2000-01-01T00:00")
    with open(path, "w") as fh:
        fh.write("timestamp,value\n")
        for a in range(0, rows, 100_000):
            idx = np.arange(a, min(rows, a + 100_000))
            ts = np.datetime_as_string(start + idx.astype("timedelta64[m]"), unit="m")
            vals = np.sin(idx / 300.0) * 10 + rng.normal(0, 0.5, idx.size)
            vals[rng.random(idx.size) < 1e-5] += 40.0  # rare spikes
            fh.write("".join(f"{t.replace('T', ' ')},{v:.3f}\n"
                             for t, v in zip(ts, vals, strict=True)))


_READER = r"""
import json, resource, sys, time
from htmkit.streams import CsvStreamReader
def rss():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize()
t0 = time.perf_counter()
r = CsvStreamReader(sys.argv[1], "value", "timestamp", chunk_rows=50_000)
start = rss()
r.scan()
t_scan = time.perf_counter() - t0
samples, n, total = [], 0, 0.0
for c in r.chunks():
    n += len(c.values)
    total += float(c.values.sum())
    samples.append((n, rss()))
with open("/proc/self/status") as fh:  # this process's own peak (not ru_maxrss: see tools)
    peak = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmHWM:"))
print(json.dumps({"rows": n, "n_rows": r.n_rows, "mean": total / max(n, 1), "rss_start": start,
                  "samples": samples, "scan_s": t_scan, "seconds": time.perf_counter() - t0,
                  "peak": peak}))
"""


def _at(samples: list[tuple[int, int]], total: int) -> dict[str, float]:
    """Resident MB at the first sample past 10 %, 50 % and 100 % of ``total`` rows."""
    out = {}
    for pct in (10, 50, 100):
        goal = total * pct / 100
        hit = next((s for s in samples if s[0] >= goal), samples[-1] if samples else (0, 0))
        out[f"{pct}%"] = round(hit[1] / MB, 1)
    return out


def run_reader(path: Path, env: dict[str, str]) -> dict[str, Any]:
    res = subprocess.run([sys.executable, "-c", _READER, str(path)], capture_output=True,
                         text=True, env=env, check=True)
    got = json.loads(res.stdout)
    return {"rows": got["rows"], "seconds": round(got["seconds"], 1),
            "scan_seconds": round(got["scan_s"], 1),
            "rss_mb_after_start": round(got["rss_start"] / MB, 1),
            "rss_mb_at": _at(got["samples"], got["rows"]),
            "peak_mb": round(got["peak"] / MB, 1)}


_PROGRESS = re.compile(r": (checking|reading|scoring) (\d+)(?:/(\d+))? rows")


def _rss_of(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def run_anomaly(path: Path, out: Path, env: dict[str, str], score_seconds: float,
                total: int) -> dict[str, Any]:
    cmd = [sys.executable, "-c", "import sys; sys.argv[0] = 'htmkit'; "
           "from htmkit.cli.main import main; main()", "anomaly", str(path), "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=env)
    stages: dict[str, list[tuple[int, int]]] = {"checking": [], "reading": [], "scoring": []}
    current: dict[str, Any] = {"stage": "start", "rows": 0}
    lines: list[str] = []

    def read_stderr() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            lines.append(line.rstrip())
            m = _PROGRESS.search(line)
            if m:
                current["stage"], current["rows"] = m.group(1), int(m.group(2))
                stages[m.group(1)].append((int(m.group(2)), _rss_of(proc.pid)))

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    t0 = time.monotonic()
    t_score: float | None = None
    timeline: list[tuple[float, str, int, float]] = []
    peak = 0
    while proc.poll() is None:
        rss = _rss_of(proc.pid)
        peak = max(peak, rss)
        timeline.append((round(time.monotonic() - t0, 1), str(current["stage"]),
                         int(current["rows"]), round(rss / MB, 1)))
        if current["stage"] == "scoring" and t_score is None:
            t_score = time.monotonic()
        if score_seconds and t_score is not None and time.monotonic() - t_score > score_seconds:
            proc.terminate()
            break
        time.sleep(0.5)
    proc.wait()
    reader.join(timeout=5)
    scored = max((r for r, _ in stages["scoring"]), default=0)
    # resident memory while scoring, at 10 %, 50 % and 100 % of the scoring time
    during = [t for t in timeline if t[1] == "scoring"]
    by_time = {}
    if during:
        t_first, t_last = during[0][0], during[-1][0]
        for pct in (10, 50, 100):
            goal = t_first + (t_last - t_first) * pct / 100
            by_time[f"{pct}%"] = next(t[3] for t in during if t[0] >= goal)
    return {"command": " ".join(["htmkit", *cmd[3:]]),
            "finished": proc.returncode == 0, "seconds": round(time.monotonic() - t0, 1),
            "rss_mb_at": {stage: _at(s, total) for stage, s in stages.items()
                          if stage != "scoring" and s},
            "scoring_rows": scored,
            "scoring_rss_mb": [(r, round(m / MB, 1)) for r, m in stages["scoring"]],
            "scoring_rss_mb_at_time": by_time,
            "peak_mb": round(peak / MB, 1),
            "timeline_every_10th": timeline[::10], "last_lines": lines[-3:]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--score-seconds", type=float, default=300.0,
                    help="stop htmkit anomaly after this long scoring (0: let it finish)")
    ap.add_argument("--skip-anomaly", action="store_true")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    result: dict[str, Any] = {"command": "python tools/score_big_csv.py "
                              + " ".join(argv if argv is not None else sys.argv[1:]),
                              "rows": args.rows}
    with tempfile.TemporaryDirectory(prefix="htmkit-bigcsv-") as tmp:
        path = Path(tmp) / "big.csv"
        t0 = time.monotonic()
        write_csv(path, args.rows)
        result["file_mb"] = round(path.stat().st_size / MB, 1)
        result["write_seconds"] = round(time.monotonic() - t0, 1)
        print(f"wrote {args.rows} rows, {result['file_mb']} MB", flush=True)
        result["reader"] = run_reader(path, env)
        print("reader:", result["reader"], flush=True)
        if not args.skip_anomaly:
            result["anomaly"] = run_anomaly(path, Path(tmp) / "scores.csv", env,
                                            args.score_seconds, args.rows)
            print("anomaly:", {k: v for k, v in result["anomaly"].items()
                               if k != "timeline_every_10th"}, flush=True)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
