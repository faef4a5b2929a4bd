"""The anomaly service's HTTP API (in-process, FastAPI's TestClient): every endpoint, every 4xx,
and that a refused request changes nothing (compared state before and after)."""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pytest

pytest.importorskip("fastapi", reason="the service extra (fastapi) is not installed")
pytest.importorskip("httpx", reason="the service extra (httpx) is not installed")

from fastapi.testclient import TestClient  # noqa: E402

from htmkit.service.app import ServiceConfig, create_app  # noqa: E402
from htmkit.service.backend import LocalBackend, shard_of  # noqa: E402

# a small detector keeps these tests fast (the default tier's budget)
SMALL = {"config": {"sp": {"column_dimensions": [256], "num_active_columns_per_inh_area": 10},
                    "tm": {"cells_per_column": 8}},
         "probationary_period": 20}


def records(n: int, start: int = 0, spike: int | None = None) -> list[dict]:
    out = []
    for i in range(start, start + n):
        v = 50.0 + 20.0 * math.sin(i / 3.0)
        if spike is not None and i == spike:
            v = 1000.0
        out.append({"timestamp": _stamp(i), "value": v})
    return out


def _stamp(i: int) -> str:
    m = 5 * i
    return f"2024-01-{1 + m // 1440:02d}T{(m // 60) % 24:02d}:{m % 60:02d}:00"


def _fingerprint(obj) -> str:
    """A hash of a nested state (arrays by their bytes)."""
    h = hashlib.sha256()

    def walk(x):
        if isinstance(x, np.ndarray):
            h.update(str(x.dtype).encode() + str(x.shape).encode())
            h.update(np.ascontiguousarray(x).tobytes())
        elif isinstance(x, dict):
            for k in sorted(x):
                h.update(str(k).encode())
                walk(x[k])
        elif isinstance(x, (list, tuple)):
            for v in x:
                walk(v)
        else:
            h.update(repr(x).encode())

    walk(obj)
    return h.hexdigest()


def state_of(backend: LocalBackend) -> tuple:
    """Everything a request could change: streams, results, the log, every detector."""
    return (json.dumps(backend.list_streams(), sort_keys=True),
            json.dumps({s: backend.recent(s) for s in backend.stream_ids()}, sort_keys=True),
            backend.store.count_records(),
            tuple(_fingerprint(backend._streams[s].detector.get_state())
                  for s in backend.stream_ids()))


@pytest.fixture()
def service(tmp_path):
    cfg = ServiceConfig(data_dir=str(tmp_path / "data"), max_records=50, max_batch_streams=3,
                        max_streams=4, max_body_bytes=20_000, snapshot_every=10**6,
                        snapshot_seconds=3600, synchronous="NORMAL")
    backend = LocalBackend(cfg.data_dir, max_records=cfg.max_records,
                           max_batch_streams=cfg.max_batch_streams, max_streams=cfg.max_streams,
                           snapshot_every=cfg.snapshot_every,
                           snapshot_seconds=cfg.snapshot_seconds, synchronous="NORMAL")
    with TestClient(create_app(cfg, backend=backend)) as client:
        yield client, backend


def make(client, sid: str, **extra) -> dict:
    r = client.post("/streams", json={"id": sid, "params": SMALL, "min_value": 0,
                                      "max_value": 100, **extra})
    assert r.status_code == 201, r.text
    return r.json()


def assert_refused(client, backend, method, url, status, field, **kw):
    before = state_of(backend)
    r = client.request(method, url, **kw)
    assert r.status_code == status, r.text
    assert r.json()["field"] == field, r.json()
    assert state_of(backend) == before


def test_stream_lifecycle_and_scores(service):
    client, backend = service
    info = make(client, "cpu.host-1")
    assert info["id"] == "cpu.host-1" and info["records"] == 0
    assert client.get("/streams").json()["streams"][0]["id"] == "cpu.host-1"
    r = client.post("/streams/cpu.host-1/records", json={"records": records(30, spike=25)})
    assert r.status_code == 200, r.text
    res = r.json()["results"]
    assert [x["seq"] for x in res] == list(range(1, 31))
    for x in res:
        assert set(x) == {"seq", "timestamp", "value", "raw_anomaly", "likelihood", "score",
                          "alarm"}
        assert 0 <= x["raw_anomaly"] <= 1 and 0 <= x["likelihood"] <= 1
        assert x["alarm"] == (x["score"] >= 0.5)
    # the spike is far outside everything seen: a spatial anomaly, score one, an alarm
    assert res[25]["score"] == 1.0 and res[25]["alarm"]
    assert backend.stats()["records_logged"] == backend.store.count_records() == 30
    got = client.get("/streams/cpu.host-1").json()
    assert got["records"] == 30 and got["alarms"] >= 1
    assert got["last_alarm"]["timestamp"] == res[25]["timestamp"] or got["last_alarm"]["seq"] > 26
    assert client.get("/streams/cpu.host-1/scores").json()["results"] == res
    assert client.get("/streams/cpu.host-1/scores?limit=5").json()["results"] == res[-5:]
    alarms = client.get("/streams/cpu.host-1/scores?alarms=true").json()["results"]
    assert alarms == [x for x in res if x["alarm"]]
    # epoch-second timestamps are read as UTC
    r = client.post("/streams/cpu.host-1/records",
                    json={"records": [{"timestamp": 1.8e9, "value": 1.0}]})
    assert r.json()["results"][0]["timestamp"] == "2027-01-15T08:00:00"
    assert client.delete("/streams/cpu.host-1").status_code == 204
    assert client.get("/streams").json()["streams"] == []
    assert client.get("/streams/cpu.host-1").status_code == 404
    assert backend.store.count_records() == 0


def test_batch_scores_many_streams_like_single_requests(service, tmp_path):
    client, backend = service
    for s in ("a", "b"):
        make(client, s)
    r = client.post("/records", json={"streams": {"a": records(10), "b": records(10, 3)}})
    assert r.status_code == 200, r.text
    got = r.json()["results"]
    # the same records one stream at a time, in a second service, score the same
    other = LocalBackend(tmp_path / "other", synchronous="NORMAL")
    for s, recs in (("a", records(10)), ("b", records(10, 3))):
        other.create_stream(s, {"params": SMALL, "min_value": 0, "max_value": 100})
        assert other.score(s, recs) == got[s]


def test_health_metrics_openapi_dashboard(service):
    client, _ = service
    make(client, "m")
    client.post("/streams/m/records", json={"records": records(3)})
    assert client.get("/health").json() == {"status": "ok", "streams": 1}
    text = client.get("/metrics").text
    assert "htmkit_streams 1" in text and "htmkit_records_scored_total 3" in text
    assert 'htmkit_request_seconds_bucket{route="/streams/{stream_id}/records",le="+Inf"} 1' \
        in text
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/streams", "/streams/{stream_id}", "/streams/{stream_id}/records", "/records",
            "/streams/{stream_id}/scores", "/health", "/metrics"} <= set(paths)
    page = client.get("/")
    assert page.status_code == 200 and "<svg id=\"chart\"" in page.text


def test_create_refusals(service):
    client, backend = service
    make(client, "x")
    ok = {"params": SMALL, "min_value": 0, "max_value": 1}
    cases = [
        ({"id": "x", **ok}, 409, "id"),  # exists
        ({"id": "bad id!", **ok}, 422, "id"),
        ({"id": "p", "params": {"probationary_period": 1}}, 422, "params.probationary_period"),
        ({"id": "p", "params": {"no_such": 1}}, 422, "params.no_such"),
        ({"id": "p", "preset": "nope"}, 422, "preset"),
        ({"id": "p", "min_value": 5, "max_value": 1}, 422, "min_value"),
        ({"id": "p", "extra": 1}, 422, "extra"),
    ]
    for body, status, field in cases:
        assert_refused(client, backend, "POST", "/streams", status, field, json=body)
    for s in ("y", "z", "w"):
        make(client, s)
    assert_refused(client, backend, "POST", "/streams", 409, "id", json={"id": "v", **ok})


def test_record_refusals_change_nothing(service):
    client, backend = service
    make(client, "a")
    make(client, "b")
    client.post("/streams/a/records", json={"records": records(5)})
    url = "/streams/a/records"
    nan_body = '{"records": [{"timestamp": "2024-02-01T00:00:00", "value": NaN}]}'
    inf_body = '{"records": [{"timestamp": "2024-02-01T00:00:00", "value": Infinity}]}'
    later = records(3, 10)
    cases = [
        (url, {"content": nan_body, "headers": {"content-type": "application/json"}}, 422,
         "records[0].value"),
        (url, {"content": inf_body, "headers": {"content-type": "application/json"}}, 422,
         "records[0].value"),
        (url, {"json": {"records": later + [records(1, 2)[0]]}}, 422, "records[3].timestamp"),
        (url, {"json": {"records": [later[0], later[0]]}}, 422, "records[1].timestamp"),
        (url, {"json": {"records": [records(1, 4)[0]]}}, 422, "records[0].timestamp"),
        (url, {"json": {"records": [{"timestamp": "yesterday", "value": 1}]}}, 422,
         "records[0].timestamp"),
        (url, {"json": {"records": [{"timestamp": "2030-01-01T00:00:00"}]}}, 422,
         "records[0].value"),
        (url, {"json": {"records": [{"timestamp": "2030-01-01T00:00:00", "value": 1,
                                     "x": 2}]}}, 422, "records[0].x"),
        (url, {"json": {"records": records(51, 10)}}, 422, "records"),
        (url, {"content": b'{"records": [' + b" " * 30_000 + b"]}",
               "headers": {"content-type": "application/json"}}, 413, "body"),
        # the same without a content-length (chunked): counted as it is read
        (url, {"content": iter([b'{"records": [', b" " * 30_000, b"]}"]),
               "headers": {"content-type": "application/json"}}, 413, "body"),
        ("/streams/nope/records", {"json": {"records": later}}, 404, "stream"),
        ("/records", {"json": {"streams": {"a": later, "nope": later}}}, 404,
         "streams.nope.stream"),
        ("/records", {"json": {"streams": {"a": later, "b": later + [later[0]]}}}, 422,
         "streams.b.records[3].timestamp"),
        ("/records", {"json": {"streams": {"a": records(30, 10), "b": records(30, 10)}}}, 422,
         "records"),
        ("/records", {"json": {"streams": {s: later for s in "abcd"}}}, 422, "streams"),
    ]
    for u, kw, status, field in cases:
        assert_refused(client, backend, "POST", u, status, field, **kw)
    assert client.get("/streams/nope/scores").status_code == 404
    assert client.delete("/streams/nope").status_code == 404
    # after all that, the streams take the records they were refused
    r = client.post("/records", json={"streams": {"a": later, "b": later}})
    assert r.status_code == 200 and len(r.json()["results"]["b"]) == 3


@pytest.mark.slow
def test_restart_restores_streams_bit_identical(tmp_path):
    """Closed (with its shutdown snapshot) or dropped without closing (the log replayed), a
    backend reopened on its folder goes on exactly as one never stopped."""
    recs = records(40, spike=33)
    whole = LocalBackend(tmp_path / "whole", synchronous="NORMAL")
    whole.create_stream("s", {"params": SMALL, "min_value": 0, "max_value": 100})
    expected = whole.score("s", recs)

    first = LocalBackend(tmp_path / "d", synchronous="NORMAL")
    first.create_stream("s", {"params": SMALL, "min_value": 0, "max_value": 100})
    got = first.score("s", recs[:15])
    first.close()  # clean: snapshot at shutdown, log compacted
    second = LocalBackend(tmp_path / "d", synchronous="NORMAL")
    assert second.store.count_records() == 0 and second.records_replayed == 0
    got += second.score("s", recs[15:30])
    del second  # as if killed: nothing snapshotted, records 16-30 in the log only
    third = LocalBackend(tmp_path / "d", synchronous="NORMAL")
    assert third.records_replayed == 15
    third.snapshot()
    assert third.stats()["records_logged"] == third.store.count_records() == 0
    got += third.score("s", recs[30:])
    assert got == expected
    assert third.recent("s") == expected


def test_shard_of_is_stable():
    # the same shard in every process and on every machine (a BLAKE2b digest, not hash())
    ids = ("a", "b", "cpu.host-1", "stream-7")
    assert [shard_of(s, 4) for s in ids] == [3, 1, 1, 3]
    assert [shard_of(s, 1000) for s in ids] == [343, 333, 581, 995]
    assert {shard_of(f"s{i}", 4) for i in range(100)} == {0, 1, 2, 3}


@pytest.mark.slow
def test_worker_backend_checks_every_worker_before_scoring(tmp_path):
    """Two worker processes: a batch refused on one worker changes nothing on the other, and
    an accepted batch scores as one process does."""
    from htmkit.service.workers import WorkerBackend

    ids = ["alpha", "beta", "gamma"]  # shards 0, 0, 1: both workers hold streams
    assert {shard_of(s, 2) for s in ids} == {0, 1}
    wb = WorkerBackend(tmp_path / "w", 2, synchronous="NORMAL", max_records=100)
    try:
        for s in ids:
            wb.create_stream(s, {"params": SMALL, "min_value": 0, "max_value": 100})
        good = {s: records(5) for s in ids}
        bad = {**good, ids[-1]: records(5) + [records(1, 2)[0]]}

        def state():
            return (json.dumps(wb.list_streams(), sort_keys=True),
                    json.dumps([wb.recent(s) for s in ids]), wb.stats()["records_logged"])

        before = state()
        with pytest.raises(Exception) as err:
            wb.score_many(bad)
        assert getattr(err.value, "field", None) == f"streams.{ids[-1]}.records[5].timestamp"
        assert state() == before
        got = wb.score_many(good)
        one = LocalBackend(tmp_path / "one", synchronous="NORMAL")
        for s in ids:
            one.create_stream(s, {"params": SMALL, "min_value": 0, "max_value": 100})
        assert got == one.score_many(good)
        with pytest.raises(Exception) as err:
            WorkerBackend(tmp_path / "w", 3)
        assert getattr(err.value, "field", None) == "workers"
    finally:
        wb.close()


def test_snapshots_fall_due_by_count_and_by_time(tmp_path):
    import time

    b = LocalBackend(tmp_path / "d", snapshot_every=10, snapshot_seconds=0.5,
                     synchronous="NORMAL")
    for s in ("count", "clock"):
        b.create_stream(s, {"params": SMALL, "min_value": 0, "max_value": 100})
    b.score("count", records(12))
    b.score("clock", records(3))
    assert b.due() == ["count"]  # 12 records since its last snapshot; the clock's 3 are new
    assert b.snapshot_due() == 1
    assert b.store.latest_snapshot("count")[0] == 12
    assert b.stats()["records_logged"] == b.store.count_records() == 3
    time.sleep(0.55)
    assert b.due() == ["clock"] and b.snapshot_due() == 1
    assert b.stats()["records_logged"] == b.store.count_records() == 0
    assert b.due() == [] and b.snapshot_due() == 0  # nothing new: nothing written
    b.store.close()
