"""Peak memory of loading saved files of several sizes (issue #18: the load memory bound).

Each file is loaded in a fresh subprocess that first loads the small fixture of the same class
(imports, numba caches), then records its resident memory, loads the file and reads its peak
resident memory (``VmHWM`` of ``/proc/self/status``: ``ru_maxrss`` would include the parent's
peak, inherited through fork and exec); the difference is the memory the file cost. Files:

* ``sp`` -- real spatial poolers grown by learning, sized to about each target;
* ``tm``, ``btm`` -- real temporal memories (BAMI, backtracking) grown by learning on random
  sequences;
* ``bomb`` -- crafted worst cases: a file of N MB (an incompressible array plus zeros) whose
  members inflate to exactly the limit of :func:`htmkit.serialization.inflate_limit`, checksums
  valid, so that every byte is read before the class refuses the state.

The fitted bound ``peak <= K * N + C`` (N the file size in MB) is printed and written with the
measurements to ``--json``::

    PYTHONPATH=src python tools/measure_load_memory.py --sp 1 10 50 200 --bomb 1 5 20 \\
        --json benchmarks/results/load-memory.json
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "v0_1_0"
MB = 2**20

_CHILD = r"""
import importlib, json, resource, sys
module, name, warm, path = sys.argv[1:5]
cls = getattr(importlib.import_module(module), name)
from htmkit.errors import FormatError
cls.load(warm)
def rss():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize()
before = rss()
try:
    cls.load(path)
    outcome = "loaded"
except FormatError as exc:
    outcome = "FormatError: " + str(exc)[len(path) + 2:][:120]
# the high-water mark of this process's own memory (ru_maxrss would also count the parent's,
# which the child inherits through fork and exec)
with open("/proc/self/status") as fh:
    peak = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmHWM:"))
print(json.dumps({"before": before, "peak": peak, "outcome": outcome}))
"""


def measure(module: str, name: str, warm: Path, path: Path) -> dict[str, Any]:
    """Load ``path`` in a fresh process (after ``warm``); its size and peak memory."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    res = subprocess.run([sys.executable, "-c", _CHILD, module, name, str(warm), str(path)],
                         capture_output=True, text=True, env=env, check=True)
    got = json.loads(res.stdout.strip().splitlines()[-1])
    size = path.stat().st_size
    with zipfile.ZipFile(path) as zf:
        inflated = sum(i.file_size for i in zf.infolist())
    return {"file_mb": round(size / MB, 3), "inflated_mb": round(inflated / MB, 1),
            "peak_growth_mb": round(
        max(0, got["peak"] - got["before"]) / MB, 1), "rss_before_mb": round(
        got["before"] / MB, 1), "outcome": got["outcome"]}


def _sp(inputs: int, seed: int = 1) -> Any:
    from htmkit.sdr import SDR
    from htmkit.spatial_pooler import SpatialPooler

    sp = SpatialPooler(input_dimensions=[inputs], column_dimensions=[2048],
                       potential_radius=inputs, potential_pct=0.5, global_inhibition=True,
                       num_active_columns_per_inh_area=40, seed=seed)
    rng = np.random.default_rng(seed)
    for _ in range(20):
        sp.compute(SDR((inputs,), rng.choice(inputs, inputs // 10, replace=False)),
                   learn=True)
    return sp


def _tm(steps: int, seed: int = 2) -> Any:
    from htmkit.sdr import SDR
    from htmkit.temporal_memory import TemporalMemory

    tm = TemporalMemory(column_dimensions=[2048], cells_per_column=32, seed=seed)
    rng = np.random.default_rng(seed)
    seqs = [[rng.choice(2048, 40, replace=False) for _ in range(50)] for _ in range(20)]
    for i in range(steps):
        tm.compute(SDR((2048,), seqs[(i // 50) % 20][i % 50]), learn=True)
    return tm


def _npy_header(descr: str, n: int) -> bytes:
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(head, {"descr": descr, "fortran_order": False,
                                                "shape": (n,)})
    return head.getvalue()


def _zeros_sha(n: int) -> str:
    sha = hashlib.sha256()
    chunk = bytes(16 * MB)
    done = 0
    while done < n:
        k = min(len(chunk), n - done)
        sha.update(chunk[:k])
        done += k
    return sha.hexdigest()


def _write_bomb(path: Path, noise: np.ndarray, zeros: int) -> None:
    manifest = {"format": "htmkit", "format_version": 1, "class": "SpatialPooler",
                "state": {"__version__": 1, "noise": {"__array__": "a0"},
                          "zeros": {"__array__": "a1"}},
                "checksums": {"a0": hashlib.sha256(noise.tobytes()).hexdigest(),
                              "a1": _zeros_sha(zeros)}}
    blob = np.frombuffer(json.dumps(manifest).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    np.lib.format.write_array(buf, blob, allow_pickle=False)
    chunk = bytes(16 * MB)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("__manifest__.npy", buf.getvalue())
        zf.writestr("a0.npy", _npy_header("|u1", noise.size) + noise.tobytes())
        info = zipfile.ZipInfo("a1.npy")
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=True) as fh:
            fh.write(_npy_header("|u1", zeros))
            done = 0
            while done < zeros:
                n = min(len(chunk), zeros - done)
                fh.write(chunk[:n])
                done += n


def _btm(steps: int, seed: int = 3) -> Any:
    from htmkit.backtracking_tm import BacktrackingTemporalMemory
    from htmkit.sdr import SDR

    tm = BacktrackingTemporalMemory(column_dimensions=[2048], cells_per_column=32, seed=seed)
    rng = np.random.default_rng(seed)
    seqs = [[rng.choice(2048, 40, replace=False) for _ in range(50)] for _ in range(20)]
    for i in range(steps):
        tm.compute(SDR((2048,), seqs[(i // 50) % 20][i % 50]), learn=True)
    return tm


def _bomb(path: Path, file_mb: float) -> None:
    """A file of about ``file_mb`` MB (incompressible bytes, stored) whose members inflate to
    the loading limit (the rest zeros, deflated), checksums valid."""
    from htmkit.serialization import inflate_limit

    noise = np.random.default_rng(0).integers(0, 256, int(file_mb * MB), dtype=np.uint8)
    size = noise.size + 4096
    for _ in range(4):  # the limit grows with the file, which grows with the zeros
        zeros = inflate_limit(size) - noise.size - 4096
        _write_bomb(path, noise, zeros)
        size = path.stat().st_size


def fit(rows: list[dict[str, Any]]) -> tuple[float, float]:
    """The per-inflated-MB factor ``a`` and the constant ``b`` (MB) with every row's peak
    growth under ``a * inflated + b``: ``b`` the largest growth of a file that inflates to
    under 16 MB, ``a`` the smallest slope that covers the rest."""
    small = [r["peak_growth_mb"] for r in rows if r["inflated_mb"] < 16]
    b = max(small) if small else 0.0
    a = max((r["peak_growth_mb"] - b) / r["inflated_mb"] for r in rows)
    return round(max(a, 0.0), 3), round(b, 1)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sp", type=float, nargs="*", default=[1, 10, 50, 200],
                    help="target sizes (MB) of the learned spatial poolers")
    ap.add_argument("--tm", type=int, nargs="*", default=[1000, 8000],
                    help="learning steps of the temporal memories")
    ap.add_argument("--btm", type=int, nargs="*", default=[1000],
                    help="learning steps of the backtracking temporal memories")
    ap.add_argument("--bomb", type=float, nargs="*", default=[1, 5, 20],
                    help="sizes (MB) of the crafted files that inflate to the limit")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    rows: list[dict[str, Any]] = []
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="htmkit-loadmem-") as tmp:
        folder = Path(tmp)
        # calibrate: file size of a small learned SP, per input bit
        probe = folder / "probe.htm"
        _sp(200).save(probe)
        per_input = probe.stat().st_size / 200
        for target in args.sp:
            path = folder / f"sp-{target}.htm"
            _sp(max(16, int(target * MB / per_input))).save(path)
            row = {"kind": "sp", "target_mb": target,
                   **measure("htmkit.spatial_pooler", "SpatialPooler",
                             FIXTURES / "spatial_pooler.htm", path)}
            print(row, flush=True)
            rows.append(row)
            path.unlink()
        for steps in args.tm:
            path = folder / f"tm-{steps}.htm"
            _tm(steps).save(path)
            row = {"kind": "tm", "steps": steps,
                   **measure("htmkit.temporal_memory", "TemporalMemory",
                             FIXTURES / "temporal_memory.htm", path)}
            print(row, flush=True)
            rows.append(row)
            path.unlink()
        for steps in args.btm:
            path = folder / f"btm-{steps}.htm"
            _btm(steps).save(path)
            row = {"kind": "btm", "steps": steps,
                   **measure("htmkit.backtracking_tm", "BacktrackingTemporalMemory",
                             FIXTURES / "backtracking_tm.htm", path)}
            print(row, flush=True)
            rows.append(row)
            path.unlink()
        for target in args.bomb:
            path = folder / f"bomb-{target}.htm"
            _bomb(path, target)
            from htmkit.serialization import inflate_limit

            row = {"kind": "bomb", "target_mb": target,
                   "limit_mb": round(inflate_limit(path.stat().st_size) / MB, 1),
                   **measure("htmkit.spatial_pooler", "SpatialPooler",
                             FIXTURES / "spatial_pooler.htm", path)}
            print(row, flush=True)
            rows.append(row)
            path.unlink()
    from htmkit.serialization import INFLATE_ALLOWANCE, MAX_INFLATE_RATIO

    a, b = fit(rows)
    # the loading limits bound the inflated size by MAX_INFLATE_RATIO * N + INFLATE_ALLOWANCE
    k = round(a * MAX_INFLATE_RATIO, 1)
    c = round(a * INFLATE_ALLOWANCE / MB + b, 0)
    print(f"peak growth <= {a} * inflated + {b} MB over {len(rows)} files, so loading a file "
          f"of N MB takes at most {k} * N + {c} MB ({time.monotonic() - t0:.0f} s)")
    if args.json:
        args.json.write_text(json.dumps({
            "command": "python tools/measure_load_memory.py " + " ".join(argv or sys.argv[1:]),
            "rows": rows,
            "fit": {"per_inflated_mb": a, "constant_mb": b, "K": k, "C_mb": c}}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
