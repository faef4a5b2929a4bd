"""A backend of several worker processes on this machine (``htmkit serve --workers N``).

Each worker is a process holding one :class:`~htmkit.service.backend.Shard` (its own store,
``shard-<i>.db`` in the data folder); a stream lives on worker ``shard_of(stream_id, N)``. The
detectors of different workers run on different cores at once (one process runs one detector
step at a time). A request touching several workers is checked on all of them before any
scores (their locks taken in order), then scored on all of them at once. The data folder
remembers its worker count: reopening it with another count is refused (the streams would
belong to other shards).

A worker whose parent dies (even by ``kill -9``) reads the end of its pipe and exits; the
store's lock file keeps a restarted server's worker waiting until the old one is gone.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .backend import ServiceError, Shard, check_batch_limits, shard_of

__all__ = ["WorkerBackend"]


def _worker(conn: Any, directory: str, name: str, options: dict[str, Any]) -> None:
    """The loop of one worker process: a Shard answering method calls from the pipe."""
    try:
        shard = Shard(directory, name, **options)
    except Exception as exc:  # report the failure to start, then exit
        conn.send(("exc", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ok", None))
    while True:
        try:
            method, args = conn.recv()
        except (EOFError, OSError):  # the parent is gone: the log holds every record
            return
        try:
            out = getattr(shard, method)(*args)
            reply: tuple[Any, ...] = ("ok", out)
        except ServiceError as exc:
            reply = ("service", exc.status, exc.field, exc.message)
        except Exception as exc:
            reply = ("exc", f"{type(exc).__name__}: {exc}")
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            return
        if method == "close":
            return


class _Handle:
    def __init__(self, index: int, directory: str, options: dict[str, Any]):
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(child, directory, f"shard-{index}",
                                                       options),
                                name=f"htmkit-shard-{index}", daemon=True)
        self.proc.start()
        child.close()
        self.lock = threading.Lock()

    def send(self, method: str, *args: Any) -> None:
        self.conn.send((method, args))

    def receive(self) -> Any:
        reply = self.conn.recv()
        if reply[0] == "ok":
            return reply[1]
        if reply[0] == "service":
            raise ServiceError(reply[1], reply[2], reply[3])
        raise RuntimeError(f"worker {self.proc.name}: {reply[1]}")

    def call(self, method: str, *args: Any) -> Any:
        with self.lock:
            self.send(method, *args)
            return self.receive()


class WorkerBackend:
    """The :class:`~htmkit.service.backend.Backend` of ``workers`` processes, each a
    :class:`~htmkit.service.backend.Shard` (``options`` are the Shard's keyword arguments;
    ``max_streams`` is split evenly between the workers)."""

    def __init__(self, directory: Any, workers: int = 2, **options: Any):
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ServiceError(422, "workers", f"must be an integer >= 1, got {workers!r}")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        layout = self.directory / "workers.json"
        if layout.exists():
            known = json.loads(layout.read_text())["workers"]
            if known != workers:
                raise ServiceError(422, "workers", f"{self.directory} holds the streams of "
                                                   f"{known} workers; start with {known}")
        else:
            layout.write_text(json.dumps({"workers": workers}))
        self.max_batch_streams = options.get("max_batch_streams", 1_000)
        self.max_records = options.get("max_records", 10_000)
        if "max_streams" in options:
            options = {**options, "max_streams": max(1, -(-options["max_streams"] // workers))}
        self.workers = [_Handle(i, str(self.directory), options) for i in range(workers)]
        for w in self.workers:
            w.receive()  # each worker has restored its streams

    def _of(self, stream_id: str) -> _Handle:
        return self.workers[shard_of(stream_id, len(self.workers))]

    def create_stream(self, stream_id: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        return self._of(stream_id).call("create_stream", stream_id, dict(spec))

    def list_streams(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for w in self.workers:
            out.extend(w.call("list_streams"))
        return sorted(out, key=lambda s: (s["created"], s["id"]))

    def get_stream(self, stream_id: str) -> dict[str, Any]:
        return self._of(stream_id).call("get_stream", stream_id)

    def delete_stream(self, stream_id: str) -> None:
        self._of(stream_id).call("delete_stream", stream_id)

    def _split(self, batch: Mapping[str, Sequence[Any]]
               ) -> dict[int, dict[str, list[Any]]]:
        check_batch_limits(batch, self.max_batch_streams, self.max_records)
        parts: dict[int, dict[str, list[Any]]] = {}
        for stream_id, recs in batch.items():
            parts.setdefault(shard_of(stream_id, len(self.workers)), {})[stream_id] = list(recs)
        return parts

    def _run(self, batch: Mapping[str, Sequence[Any]], score: bool
             ) -> dict[str, list[dict[str, Any]]]:
        parts = self._split(batch)
        order = sorted(parts)
        handles = [self.workers[i] for i in order]
        for h in handles:
            h.lock.acquire()
        try:
            if len(parts) > 1 or not score:
                # every part checked before any is scored (field names as one batch gives them)
                for h, i in zip(handles, order, strict=True):
                    h.send("check", parts[i])
                errors = []
                for h in handles:
                    try:
                        h.receive()
                    except ServiceError as exc:
                        errors.append(exc)
                if errors:
                    raise errors[0]
            if not score:
                return {}
            for h, i in zip(handles, order, strict=True):
                h.send("score_many", parts[i])
            out: dict[str, list[dict[str, Any]]] = {}
            for h in handles:  # the workers score at the same time
                out.update(h.receive())
            return out
        finally:
            for h in handles:
                h.lock.release()

    def check(self, batch: Mapping[str, Sequence[Any]]) -> None:
        self._run(batch, score=False)

    def score_many(self, batch: Mapping[str, Sequence[Any]]) -> dict[str, list[dict[str, Any]]]:
        return self._run(batch, score=True)

    def score(self, stream_id: str, records: Sequence[Any]) -> list[dict[str, Any]]:
        return self._of(stream_id).call("score", stream_id, list(records))

    def recent(self, stream_id: str, limit: int | None = None,
               alarms_only: bool = False) -> list[dict[str, Any]]:
        return self._of(stream_id).call("recent", stream_id, limit, alarms_only)

    def snapshot(self, stream_id: str | None = None) -> int:
        if stream_id is not None:
            return self._of(stream_id).call("snapshot", stream_id)
        return sum(w.call("snapshot") for w in self.workers)

    def snapshot_due(self) -> int:
        return sum(w.call("snapshot_due") for w in self.workers)

    def stats(self) -> dict[str, Any]:
        total: dict[str, Any] = {}
        for w in self.workers:
            for k, v in w.call("stats").items():
                total[k] = total.get(k, 0) + v
        total["workers"] = len(self.workers)
        return total

    def close(self) -> None:
        for w in self.workers:
            if w.proc.is_alive():
                try:
                    w.call("close")
                except (EOFError, OSError, RuntimeError):
                    pass
            w.proc.join(60)
