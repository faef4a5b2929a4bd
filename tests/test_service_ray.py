"""The Ray backend of the anomaly service: streams sharded over Ray actors; an actor killed in
the middle of a load is restarted by Ray, restores its shard from its snapshots and log, and the
load finishes with every stream's results bit-identical to an uninterrupted local run."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

from htmkit.service.backend import LocalBackend, ServiceError
from htmkit.service.ray_backend import ShardHost

SMALL = {"config": {"sp": {"column_dimensions": [256], "num_active_columns_per_inh_area": 10},
                    "tm": {"cells_per_column": 8}},
         "probationary_period": 40}
STREAMS = [f"s{i}" for i in range(6)]
RECORDS = 120
BATCH = 10
SHARD = {"snapshot_every": 25, "synchronous": "NORMAL"}


def _stamp(i: int) -> str:
    m = 5 * i
    return f"2024-01-{1 + m // 1440:02d}T{(m // 60) % 24:02d}:{m % 60:02d}:00"


def data(k: int) -> list[dict]:
    import math

    return [{"timestamp": _stamp(i), "value": 50.0 + 20.0 * math.sin(i / (3.0 + k))
             + (60.0 if i == 90 + k else 0.0)} for i in range(RECORDS)]


def spec() -> dict:
    return {"params": SMALL, "min_value": 0.0, "max_value": 140.0}


def _json(x):
    return json.loads(json.dumps(x))


@pytest.fixture(scope="module")
def expected(tmp_path_factory) -> dict[str, list[dict]]:
    """The uninterrupted run on the local backend."""
    b = LocalBackend(tmp_path_factory.mktemp("whole"), synchronous="NORMAL")
    out = {}
    for k, s in enumerate(STREAMS):
        b.create_stream(s, spec())
        out[s] = _json(b.score(s, data(k)))
    b.close()
    return out


def test_a_retried_request_that_was_committed_is_answered_not_refused(tmp_path):
    """Without Ray: a shard host dies after logging a request; its successor (restored from the
    folder) answers the retry with the restored results, and only a call that may be a retry
    (sent before the caller heard of the new incarnation) is treated so."""
    first = ShardHost(str(tmp_path), "shard-000", dict(SHARD))
    first.call("create_stream", "s0", spec())
    part = {"s0": data(0)[:12]}
    res, token = first.score_many(part, first.incarnation)
    assert token == first.incarnation and [r["seq"] for r in res["s0"]] == list(range(1, 13))
    del first  # "dies" after answering; the log holds the 12 records
    second = ShardHost(str(tmp_path), "shard-000", dict(SHARD))
    assert second.incarnation != token
    again, token2 = second.score_many(part, token)  # the retry: answered from the log
    assert token2 == second.incarnation and _json(again["s0"]) == _json(res["s0"])
    assert second.shard.get_stream("s0")["records"] == 12  # nothing logged twice
    assert second.info()["answered_from_log"] == 1
    refused, _ = second.score_many(part, token2)  # a new duplicate request: refused as usual
    assert refused[0] == "error" and refused[1] == 422 and "timestamp" in refused[2]
    more, _ = second.score_many({"s0": data(0)[12:15]}, token)  # new records: scored
    assert [r["seq"] for r in more["s0"]] == list(range(13, 16))


# --------------------------------------------------------------------------- with Ray
@pytest.fixture(scope="module")
def ray_cluster():
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'htmkit[ray]')")
    try:
        ray.init(num_cpus=2, include_dashboard=False, namespace="htmkit-test",
                 log_to_driver=False, object_store_memory=100 * 1024 * 1024)
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"Ray cannot start a local cluster here: {exc}")
    yield ray
    ray.shutdown()


def _load(backend, acked, start_round, rounds, before_request=None):
    for r in range(start_round, start_round + rounds):
        batch = {s: data(k)[r * BATCH:(r + 1) * BATCH] for k, s in enumerate(STREAMS)}
        if before_request is not None:
            before_request(r)
        for s, results in backend.score_many(batch).items():
            acked[s].extend(_json(results))


@pytest.mark.slow
def test_killed_actors_restart_and_the_load_ends_bit_identical(ray_cluster, tmp_path, expected):
    from htmkit.service.ray_backend import RayBackend

    ray = ray_cluster
    backend = RayBackend(tmp_path / "data", shards=2, num_cpus=0.5, **SHARD)
    try:
        for s in STREAMS:
            backend.create_stream(s, spec())
        assert {i["streams"] for i in backend.shard_info()} != {0}
        acked: dict[str, list[dict]] = {s: [] for s in STREAMS}
        rounds = RECORDS // BATCH
        _load(backend, acked, 0, 4)

        # 1. ray.kill between requests: Ray restarts the actor, which restores its shard
        before = backend.shard_info()
        ray.kill(backend.actors()[0], no_restart=False)
        _load(backend, acked, 4, 3)
        after = backend.shard_info()
        assert after[0]["incarnation"] != before[0]["incarnation"]
        assert after[0]["records_replayed"] > 0 or after[0]["streams"] == 0

        # 2. SIGKILL of the other actor's process while a request is in flight
        pid = after[1]["pid"]
        fired = threading.Event()

        def killer(r):
            if r == 8 and not fired.is_set():
                fired.set()
                threading.Timer(0.05, os.kill, (pid, signal.SIGKILL)).start()

        _load(backend, acked, 7, rounds - 7, before_request=killer)
        time.sleep(0.2)
        final = backend.shard_info()
        assert final[1]["pid"] != pid and final[1]["incarnation"] != after[1]["incarnation"]
        print(f"after SIGKILL: {final[1]['records_replayed']} records replayed, "
              f"{final[1]['answered_from_log']} retried request(s) answered from the log")

        # every acknowledged result, and what the service holds, equal the uninterrupted run
        for s in STREAMS:
            assert acked[s] == expected[s], s
            assert backend.get_stream(s)["records"] == RECORDS
            assert _json(backend.recent(s)) == expected[s]
        stats = backend.stats()
        assert stats["shards"] == 2 and stats["streams"] == len(STREAMS)
    finally:
        backend.close()
    # the folder restores on a new backend (every shard snapshotted at close)
    again = RayBackend(tmp_path / "data", shards=2, num_cpus=0.5, **SHARD)
    try:
        assert sorted(s["id"] for s in again.list_streams()) == sorted(STREAMS)
        assert _json(again.recent("s3")) == expected["s3"]
        assert again.stats()["records_replayed"] == 0
    finally:
        again.close()


class DiesAfterCommit(ShardHost):
    """A shard host whose process dies once, after a request's records are committed and
    scored but before the answer leaves (a marker file in the data folder says it did)."""

    def score_many(self, batch, known_incarnation, prefixed=True):
        out = super().score_many(batch, known_incarnation, prefixed)
        marker = os.path.join(self.shard.store.directory, f"{self.name}.died")
        if out[0] and not isinstance(out[0], tuple) and not os.path.exists(marker) \
                and self.shard.get_stream(next(iter(batch)))["records"] > 3 * BATCH:
            open(marker, "w").close()
            os._exit(1)
        return out


@pytest.mark.slow
def test_a_request_committed_when_its_actor_died_is_answered_once(ray_cluster, tmp_path,
                                                                    expected):
    """The actor dies after logging a request and before answering it: Ray restarts it, the
    retried request is answered from the restored results, and nothing is logged twice."""
    from htmkit.service.ray_backend import RayBackend

    ray = ray_cluster
    ray.cloudpickle.register_pickle_by_value(__import__(__name__))
    backend = RayBackend(tmp_path / "data", shards=1, num_cpus=0.5,
                         host_class=DiesAfterCommit, **SHARD)
    try:
        stream, k = STREAMS[2], 2
        backend.create_stream(stream, spec())
        acked = []
        for r in range(6):
            acked.extend(_json(backend.score(stream, data(k)[r * BATCH:(r + 1) * BATCH])))
        (info,) = backend.shard_info()
        assert os.path.exists(tmp_path / "data" / "shard-000.died")  # it did die
        assert info["answered_from_log"] == 1 and info["records_replayed"] > 0
        assert acked == expected[stream][:6 * BATCH]
        assert backend.get_stream(stream)["records"] == 6 * BATCH
    finally:
        backend.close()


@pytest.mark.slow
def test_http_app_on_the_ray_backend(ray_cluster, tmp_path, expected):
    pytest.importorskip("fastapi", reason="the service extra (fastapi) is not installed")
    pytest.importorskip("httpx", reason="the service extra (httpx) is not installed")
    from fastapi.testclient import TestClient

    from htmkit.service.app import ServiceConfig, create_app, make_backend

    config = ServiceConfig(data_dir=str(tmp_path / "d"), backend="ray", synchronous="NORMAL",
                           max_streams=3, options={"shards": 2, "num_cpus": 0.5})
    backend = make_backend(config)
    try:
        with TestClient(create_app(config, backend=backend)) as client:
            for s in STREAMS[:3]:
                assert client.post("/streams", json={"id": s, **spec()}).status_code == 201
            assert client.post("/streams", json={"id": "s0", **spec()}).status_code == 409
            body = {"streams": {s: data(k)[:20] for k, s in enumerate(STREAMS[:3])}}
            r = client.post("/records", json=body)
            assert r.status_code == 200, r.text
            assert r.json()["results"]["s1"] == expected["s1"][:20]
            # a bad record in one stream: refused whole, named, nothing changed
            bad = {"streams": {"s0": data(0)[20:22], "s1": [{"timestamp": _stamp(0),
                                                             "value": 1.0}]}}
            r = client.post("/records", json=bad)
            assert r.status_code == 422 and r.json()["field"].startswith("streams.s1.")
            assert client.get("/streams/s0").json()["records"] == 20
            assert client.get("/streams/nope").status_code == 404
            assert len(client.get("/streams").json()["streams"]) == 3
            # the stream limit holds for the whole service, over both shards
            r = client.post("/streams", json={"id": "s9", **spec()})
            assert r.status_code == 409 and r.json()["field"] == "id"
            assert client.delete("/streams/s2").status_code == 204
            assert client.post("/streams", json={"id": "s9", **spec()}).status_code == 201
    finally:
        backend.close()


def test_ray_backend_refuses_bad_settings():
    from htmkit.service.ray_backend import RayBackend

    with pytest.raises(ServiceError, match="shards"):
        RayBackend("unused", shards=0)


def test_the_data_folder_keeps_its_shard_count(tmp_path):
    from htmkit.service.ray_backend import LAYOUT_FILE, RayBackend

    (tmp_path / LAYOUT_FILE).write_text('{"backend": "ray", "shards": 3}')
    with pytest.raises(ServiceError, match="shards=3") as err:
        RayBackend(tmp_path, shards=2)  # refused before Ray starts
    assert err.value.field == "shards"
