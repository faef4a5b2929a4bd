"""Load test of the anomaly service (``htmkit bench serve``), on loopback only.

Starts ``htmkit serve`` as a subprocess on a free loopback port with a fresh data folder,
creates ``streams`` streams (value range given, so every detector is built at once), then
posts each stream's ``records`` records in requests of ``batch`` from ``concurrency`` client
threads: each thread owns every ``concurrency``-th stream and goes round them, one request per
stream per round, so the server interleaves all streams (each stream's records stay in order).
Measured: records scored per second over the posting phase, each request's latency (p50/p99),
the server's resident memory (before the streams, after creating them, at the end, peak) and
its CPU time; then the server is stopped with SIGTERM (its shutdown snapshots every stream) and
that time is reported too. Bounded: posting stops after ``max_seconds`` (the report says how far
it got).
"""

from __future__ import annotations

import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["cost_breakdown", "free_port", "print_report", "run_load", "start_server", "stop_server",
           "stream_records"]


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(data_dir: str | os.PathLike[str], port: int, *args: str,
                 timeout: float = 300.0, log: Any = None) -> subprocess.Popen[bytes]:
    """Start ``htmkit serve`` on 127.0.0.1:``port`` and wait until ``/health`` answers."""
    import httpx

    cmd = [sys.executable, "-c", "from htmkit.cli.main import main; main()", "serve",
           "--host", "127.0.0.1",
           "--port", str(port), "--data", str(data_dir), *args]
    proc = subprocess.Popen(cmd, stdout=log or subprocess.DEVNULL,
                            stderr=log or subprocess.DEVNULL)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"htmkit serve exited with {proc.returncode} before answering")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2.0).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    proc.wait()
    raise RuntimeError(f"htmkit serve did not answer within {timeout} s")


def stop_server(proc: subprocess.Popen[bytes], timeout: float = 600.0) -> float:
    """Stop the server with SIGTERM (a clean shutdown: snapshots); returns the seconds taken."""
    t0 = time.perf_counter()
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return time.perf_counter() - t0


def _tree(pid: int) -> list[int]:
    """``pid`` and its live descendants (the server's worker processes)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(parents.get(p, []))
    return out


def _rss_mb(pid: int) -> float:
    """Resident memory of the server and its workers, MB."""
    total = 0.0
    for p in _tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024.0
        except OSError:
            pass
    return total


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of the server and its live workers."""
    total = 0.0
    for p in _tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass
    return total


def stream_records(index: int, n: int, start: int = 0) -> list[dict[str, Any]]:
    """Records ``start .. start + n - 1`` of load-test stream ``index``: a daily cycle (five
    minutes a record) with a phase and level of its own, a little deterministic noise and a
    spike every 997 records; timestamps are epoch seconds."""
    out = []
    t0 = 1_700_000_000 + 300 * (index % 12)
    for i in range(start, start + n):
        noise = ((i * 7919 + index * 104_729) % 1000) / 1000.0 - 0.5
        v = 50.0 + 10.0 * (index % 5) + 20.0 * math.sin(2 * math.pi * i / 288 + index) + noise
        if i % 997 == 996:
            v += 60.0
        out.append({"timestamp": t0 + 300 * i, "value": round(v, 4)})
    return out


def _percentile(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    s = sorted(xs)
    k = min(len(s) - 1, max(0, math.ceil(q / 100.0 * len(s)) - 1))
    return s[k]


def run_load(streams: int = 50, records: int = 200, batch: int = 100, concurrency: int = 4,
             max_seconds: float = 600.0, data_dir: str | None = None,
             server_args: tuple[str, ...] = (), workers: int = 1) -> dict[str, Any]:
    """Run the load test (see the module docstring); returns the report."""
    import httpx

    tmp = None
    if data_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="htmkit-serve-load-")
        data_dir = tmp.name
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    t_start = time.perf_counter()
    if workers > 1:
        server_args = (*server_args, "--workers", str(workers))
    proc = start_server(data_dir, port, *server_args)
    started_s = time.perf_counter() - t_start
    rss: dict[str, float] = {"start": _rss_mb(proc.pid)}
    peak = [rss["start"]]
    sampling = threading.Event()

    def sampler() -> None:
        while not sampling.wait(0.5):
            r = _rss_mb(proc.pid)
            if r == r:  # not NaN
                peak[0] = max(peak[0], r)

    threading.Thread(target=sampler, daemon=True).start()
    report: dict[str, Any] = {
        "benchmark": "serve",
        "config": {"streams": streams, "records": records, "batch": batch,
                   "concurrency": concurrency, "max_seconds": max_seconds, "workers": workers,
                   "server_args": list(server_args), "cpus": os.cpu_count()},
        "server_start_s": round(started_s, 3),
    }
    latencies: list[float] = []
    lat_lock = threading.Lock()
    errors: list[str] = []
    scored = [0]
    alarms = [0]
    try:
        with httpx.Client(base_url=base, timeout=600.0) as client:
            t0 = time.perf_counter()
            for i in range(streams):
                r = client.post("/streams", json={"id": f"s{i:05d}", "min_value": 0.0,
                                                  "max_value": 120.0})
                if r.status_code != 201:
                    raise RuntimeError(f"creating stream s{i:05d}: {r.status_code} {r.text}")
            report["create_s"] = round(time.perf_counter() - t0, 3)
        rss["after_create"] = _rss_mb(proc.pid)
        rounds = math.ceil(records / batch)
        deadline = time.perf_counter() + max_seconds
        stopped = threading.Event()

        def worker(w: int) -> None:
            mine = list(range(w, streams, concurrency))
            with httpx.Client(base_url=base, timeout=600.0) as c:
                for rnd in range(rounds):
                    for i in mine:
                        if stopped.is_set() or time.perf_counter() > deadline:
                            stopped.set()
                            return
                        n = min(batch, records - rnd * batch)
                        body = {"records": stream_records(i, n, rnd * batch)}
                        t = time.perf_counter()
                        r = c.post(f"/streams/s{i:05d}/records", json=body)
                        dt = time.perf_counter() - t
                        if r.status_code != 200:
                            errors.append(f"s{i:05d}: {r.status_code} {r.text[:200]}")
                            stopped.set()
                            return
                        res = r.json()["results"]
                        with lat_lock:
                            latencies.append(dt)
                            scored[0] += len(res)
                            alarms[0] += sum(1 for x in res if x["alarm"])

        t0 = time.perf_counter()
        cpu0 = _cpu_seconds(proc.pid)
        threads = [threading.Thread(target=worker, args=(w,)) for w in range(concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        post_s = time.perf_counter() - t0
        cpu_post = _cpu_seconds(proc.pid) - cpu0
        rss["after_load"] = _rss_mb(proc.pid)
        with httpx.Client(base_url=base, timeout=60.0) as client:
            metrics = client.get("/metrics").text
    finally:
        sampling.set()
        rss["peak"] = peak[0]
        report["shutdown_s"] = round(stop_server(proc), 3)
        if tmp is not None:
            tmp.cleanup()
    created = rss["after_create"] - rss["start"]
    grown = rss["after_load"] - rss["start"]
    report.update({
        "completed": scored[0] == streams * records and not errors,
        "errors": errors[:5],
        "records_scored": scored[0],
        "requests": len(latencies),
        "alarms": alarms[0],
        "post_s": round(post_s, 3),
        "records_per_s": round(scored[0] / post_s, 1) if post_s > 0 else None,
        "server_cpu_s": round(cpu_post, 3),
        "records_per_cpu_s": round(scored[0] / cpu_post, 1) if cpu_post > 0 else None,
        "latency_ms": {"p50": round(1000 * _percentile(latencies, 50), 2),
                       "p90": round(1000 * _percentile(latencies, 90), 2),
                       "p99": round(1000 * _percentile(latencies, 99), 2),
                       "max": round(1000 * max(latencies, default=float("nan")), 2)},
        "rss_mb": {k: round(v, 1) for k, v in rss.items()},
        "rss_per_stream_mb": {"created": round(created / streams, 3),
                              "after_load": round(grown / streams, 3)},
        "metrics_records_scored": next(
            (float(line.split()[1]) for line in metrics.splitlines()
             if line.startswith("htmkit_records_scored_total ")), None),
    })
    return report


def cost_breakdown(streams: int = 4, records: int = 400, batch: int = 100) -> dict[str, Any]:
    """Where a record's CPU time goes, in this process (no HTTP): the detector alone
    (``AnomalyDetector.update``), then the backend (parsing, checking, the committed log write
    with ``synchronous=FULL``, the results), over the same records, streams interleaved a
    request at a time. CPU-seconds per record (``time.process_time``) and the rates."""
    from ..detector import AnomalyDetector
    from .backend import LocalBackend, parse_timestamp

    data = [stream_records(i, records) for i in range(streams)]
    dets = [AnomalyDetector(min_value=0.0, max_value=120.0) for _ in range(streams)]
    t = time.process_time()
    for start in range(0, records, batch):
        for i, det in enumerate(dets):
            for r in data[i][start:start + batch]:
                det.update(parse_timestamp(r["timestamp"], "timestamp")[0], r["value"])
    detector_s = time.process_time() - t
    with tempfile.TemporaryDirectory(prefix="htmkit-serve-cost-") as d:
        b = LocalBackend(d, snapshot_every=10**9, snapshot_seconds=1e9)
        for i in range(streams):
            b.create_stream(f"s{i}", {"min_value": 0.0, "max_value": 120.0})
        t = time.process_time()
        w = time.perf_counter()
        for start in range(0, records, batch):
            for i in range(streams):
                b.score(f"s{i}", data[i][start:start + batch])
        backend_s = time.process_time() - t
        backend_wall = time.perf_counter() - w
        t = time.process_time()
        w = time.perf_counter()
        b.snapshot()
        snapshot_cpu = (time.process_time() - t) / streams
        snapshot_wall = (time.perf_counter() - w) / streams
        b.store.close()
    n = streams * records
    return {"streams": streams, "records": records, "batch": batch,
            "detector_cpu_ms_per_record": round(1000 * detector_s / n, 3),
            "backend_cpu_ms_per_record": round(1000 * backend_s / n, 3),
            "backend_wall_ms_per_record": round(1000 * backend_wall / n, 3),
            "detector_records_per_cpu_s": round(n / detector_s, 1),
            "backend_records_per_cpu_s": round(n / backend_s, 1),
            "snapshot_cpu_s_per_stream": round(snapshot_cpu, 3),
            "snapshot_wall_s_per_stream": round(snapshot_wall, 3)}


def print_report(report: dict[str, Any]) -> None:
    """Print the load test's figures."""
    c = report["config"]
    lat = report["latency_ms"]
    rss = report["rss_mb"]
    print(f"htmkit bench serve: {c['streams']} streams x {c['records']} records, "
          f"{c['batch']} records a request, {c['concurrency']} clients")
    print(f"  completed: {report['completed']} ({report['records_scored']} records, "
          f"{report['requests']} requests, {report['alarms']} alarms)")
    for e in report["errors"]:
        print(f"  error: {e}")
    print(f"  streams created in {report.get('create_s')} s")
    print(f"  throughput: {report['records_per_s']} records/s over {report['post_s']} s "
          f"({report['records_per_cpu_s']} records per server CPU-second)")
    print(f"  latency per request: p50 {lat['p50']} ms, p90 {lat['p90']} ms, "
          f"p99 {lat['p99']} ms, max {lat['max']} ms")
    print(f"  server RSS: start {rss['start']} MB, after create {rss.get('after_create')} MB, "
          f"after load {rss.get('after_load')} MB, peak {rss['peak']} MB; per stream "
          f"{report['rss_per_stream_mb']['after_load']} MB")
    print(f"  shutdown (snapshots of every stream): {report['shutdown_s']} s")
    cb = report.get("cost_breakdown")
    if cb:
        rate = report.get("records_per_cpu_s")
        http = round(1000 / rate, 3) if rate else "-"
        print(f"  in process, {cb['streams']} streams x {cb['records']} records: detector "
              f"{cb['detector_cpu_ms_per_record']} ms CPU a record, backend (+ log, checks) "
              f"{cb['backend_cpu_ms_per_record']} ms, HTTP server {http} ms; a snapshot "
              f"{cb['snapshot_cpu_s_per_stream']} s CPU")
