"""``htmkit serve`` as a real server process on loopback: killed with SIGKILL in the middle of a
load, or stopped cleanly, then restarted on the same data folder, it finishes the load with
every stream's scores bit-identical to an uninterrupted run, and loses no acknowledged record."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

pytest.importorskip("fastapi", reason="the service extra (fastapi) is not installed")
httpx = pytest.importorskip("httpx", reason="the service extra (httpx) is not installed")

from htmkit.service.backend import LocalBackend  # noqa: E402
from htmkit.service.loadtest import (  # noqa: E402
    free_port,
    start_server,
    stop_server,
    stream_records,
)

pytestmark = pytest.mark.slow

SMALL = {"config": {"sp": {"column_dimensions": [256], "num_active_columns_per_inh_area": 10},
                    "tm": {"cells_per_column": 8}},
         "probationary_period": 40}
STREAMS = ["alpha", "beta", "gamma"]
RECORDS = 150
BATCH = 10
# snapshots every 25 records or half a second: the kill lands between snapshots, compactions
# and log writes
SERVER_ARGS = ("--snapshot-every", "25", "--snapshot-seconds", "0.5")


def spec(i: int) -> dict:
    return {"params": SMALL, "min_value": 0.0, "max_value": 120.0} if i != 1 else \
        {"params": {**SMALL, "calibration_records": 30}}  # beta derives its range from its
    # first 30 records (held, then replayed)


def data(i: int) -> list[dict]:
    return stream_records(i, RECORDS)


@pytest.fixture(scope="module")
def expected(tmp_path_factory) -> dict[str, list[dict]]:
    """The uninterrupted run, in process (the server runs the same backend code)."""
    b = LocalBackend(tmp_path_factory.mktemp("whole"), synchronous="NORMAL")
    out = {}
    for i, s in enumerate(STREAMS):
        b.create_stream(s, spec(i))
        out[s] = json.loads(json.dumps(b.score(s, data(i))))
    return out


def post_rest(base: str, acked: dict[str, list[dict]], stop: threading.Event | None = None,
              pause: tuple[int, threading.Event] | None = None) -> None:
    """Post every stream's records from where the server's log ends, a batch per stream per
    round; acknowledged results go to ``acked``. With ``pause = (n, go)``, once ``n`` results
    are acknowledged it waits for ``go`` before the next request."""
    with httpx.Client(base_url=base, timeout=120.0) as c:
        done = {s: c.get(f"/streams/{s}").json()["records"] for s in STREAMS}
        while any(done[s] < RECORDS for s in STREAMS):
            for i, s in enumerate(STREAMS):
                if done[s] >= RECORDS:
                    continue
                if stop is not None and stop.is_set():
                    return
                if pause is not None and sum(map(len, acked.values())) >= pause[0]:
                    assert pause[1].wait(300), "never released"
                recs = data(i)[done[s]:done[s] + BATCH]
                r = c.post(f"/streams/{s}/records", json={"records": recs})
                assert r.status_code == 200, r.text
                acked[s].extend(r.json()["results"])
                done[s] += len(recs)


def check(base: str, expected: dict, acked: dict) -> None:
    with httpx.Client(base_url=base, timeout=60.0) as c:
        for s in STREAMS:
            got = c.get(f"/streams/{s}/scores", params={"limit": 10_000}).json()["results"]
            assert got == expected[s], s  # every record, bit for bit
            # every acknowledged answer was the uninterrupted run's
            by_seq = {r["seq"]: r for r in expected[s]}
            assert all(by_seq[r["seq"]] == r for r in acked[s])


def _snapshots_written(client) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("htmkit_snapshots_written_total "):
            return float(line.split()[1])
    return 0.0


def snapshots(data_dir) -> list:
    return sorted(p.name for p in (data_dir / "snapshots").rglob("*.htm"))


@pytest.mark.parametrize("workers", [1, 2])
def test_kill_9_mid_load_then_restart_is_bit_identical(tmp_path, expected, workers):
    """With ``--workers 2`` the kill hits the parent; its workers exit at the end of their
    pipes, and the restarted server's workers wait for their shards' locks."""
    data_dir = tmp_path / "data"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = (*SERVER_ARGS, "--workers", str(workers))
    proc = start_server(data_dir, port, *args)
    acked: dict[str, list[dict]] = {s: [] for s in STREAMS}
    try:
        with httpx.Client(base_url=base, timeout=60.0) as c:
            for i, s in enumerate(STREAMS):
                assert c.post("/streams", json={"id": s, **spec(i)}).status_code == 201
        errors: list[BaseException] = []
        go = threading.Event()
        half = RECORDS * len(STREAMS) // 2

        def load() -> None:
            try:
                post_rest(base, acked, pause=(half, go))
            except (httpx.HTTPError, AssertionError) as exc:  # the kill cuts a request
                errors.append(exc)

        t = threading.Thread(target=load)
        t.start()
        deadline = time.monotonic() + 300
        # the load pauses once half of it is answered; kill after a snapshot was committed (the
        # background thread writes them), so that the restart loads a snapshot and replays the
        # log after it, with the load going again (a request in flight, however slow the machine)
        with httpx.Client(base_url=base, timeout=60.0) as c:
            while (sum(map(len, acked.values())) < half or _snapshots_written(c) == 0):
                assert t.is_alive() and time.monotonic() < deadline, errors
                time.sleep(0.05)
        go.set()
        time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)  # mid-load
        proc.wait()
        t.join(60)
        assert not t.is_alive()
        assert sum(map(len, acked.values())) < RECORDS * len(STREAMS)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert snapshots(data_dir)
    proc = start_server(data_dir, port, *args)
    try:
        with httpx.Client(base_url=base, timeout=60.0) as c:
            for s in STREAMS:  # nothing acknowledged was lost
                assert c.get(f"/streams/{s}").json()["records"] >= len(acked[s])
        post_rest(base, acked)
        check(base, expected, acked)
    finally:
        stop_server(proc)


@pytest.mark.parametrize("workers", [1, 2])
def test_clean_restart_is_bit_identical_and_compacts(tmp_path, expected, workers):
    data_dir = tmp_path / "data"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # no snapshot before the shutdown: the clean stop writes them all
    args = ("--snapshot-every", "100000", "--snapshot-seconds", "3600", "--workers",
            str(workers))
    proc = start_server(data_dir, port, *args)
    acked: dict[str, list[dict]] = {s: [] for s in STREAMS}
    stop = threading.Event()
    try:
        with httpx.Client(base_url=base, timeout=60.0) as c:
            for i, s in enumerate(STREAMS):
                assert c.post("/streams", json={"id": s, **spec(i)}).status_code == 201
            for i, s in enumerate(STREAMS):
                r = c.post(f"/streams/{s}/records", json={"records": data(i)[:70]})
                acked[s].extend(r.json()["results"])
    finally:
        assert stop_server(proc) < 120
        # uvicorn shuts down cleanly, then re-raises the signal it caught
        assert proc.returncode in (0, -signal.SIGTERM)
    snaps = snapshots(data_dir)
    assert len(snaps) == len(STREAMS) and all(n.endswith("-70.htm") for n in snaps)
    proc = start_server(data_dir, port, *args)
    try:
        with httpx.Client(base_url=base, timeout=60.0) as c:
            text = c.get("/metrics").text
            # restored from the snapshots alone: the log was compacted, nothing replayed
            assert "htmkit_records_logged 0" in text and "htmkit_records_replayed_total 0" in text
        post_rest(base, acked, stop)
        check(base, expected, acked)
    finally:
        stop_server(proc)
