"""The Ray backend of the anomaly service: ``htmkit serve --backend ray [--address ...]``.

Streams are sharded over Ray actors: stream ``id`` lives on shard
``shard_of(id, shards)`` (:func:`~htmkit.service.store.shard_of`, a stable hash, the same on
every machine), and each shard is one actor holding a :class:`~htmkit.service.backend.Shard`:
many detectors, the same SQLite record log and snapshot code as the local backend, in the data
folder (``<data>/shard-NNN.db`` and ``<data>/snapshots/shard-NNN/``). On a cluster that folder
must be one shared directory that every node mounts at the same path.

What survives a dead actor
--------------------------
Each actor is created with ``max_restarts=-1`` and ``max_task_retries=-1``: when its process
dies (killed, out of memory, its node lost), Ray starts it again, and its constructor restores
every stream of its shard from the latest snapshot and the records logged after it (as a
restarted ``htmkit serve`` does); the calls that were in flight are then retried on the new
actor. A request is answered only after its records are committed to the shard's log, so an
answered record is never lost. A retried request whose records *were* committed before the
actor died is recognised and answered from the restored results instead of being refused as a
duplicate: every actor has an *incarnation* token, each answer carries it, and a request sent
before this backend heard of the current incarnation (a possible retry) whose records equal the
stream's last logged records is answered with their results. (A retried request can be matched
this way while its records are among each stream's ``recent`` results.) Replaying the log runs
the same detector steps on the same records, so the restored results and every later score are
bit for bit those of an uninterrupted run.

A request is checked whole before any record is scored, as with the local backend: the
request-wide limits here, then every shard's part by that shard, then the shards score their
parts in parallel. The backend serialises the requests that touch the same stream (a lock per
stream, taken in a fixed order), so no other request of this process can slip in between the
check and the scoring.

Ray is imported when the backend is built (``pip install 'htmkit[ray]'``). With ``address``
(``"auto"`` or ``host:port``) the backend joins a running cluster; without it, it joins the
cluster ``ray.init`` finds (``RAY_ADDRESS``) or starts a local one.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from .backend import ServiceError, Shard, check_batch_limits, parse_timestamp
from .store import shard_of

__all__ = ["RayBackend", "ShardHost"]

#: Ray namespace of the shard actors
NAMESPACE = "htmkit"
#: the file in the data folder that keeps the number of shards
LAYOUT_FILE = "ray-backend.json"


def _error(exc: ServiceError) -> tuple[str, int, str, str]:
    return ("error", exc.status, exc.field, exc.message)


def _raise_if_error(result: Any) -> Any:
    """Re-raise a :class:`ServiceError` an actor returned."""
    if isinstance(result, tuple) and len(result) == 4 and result[0] == "error":
        _, status, field, message = result
        raise ServiceError(status, field, message)
    return result


class ShardHost:
    """One shard of the Ray backend: the body of each Ray actor (a plain class, so that it can
    be tested without Ray). It opens its :class:`Shard` (restoring it from the data folder) and
    answers the backend's calls; every :class:`ServiceError` comes back as a value, and every
    answer to a record request carries the host's incarnation token."""

    def __init__(self, directory: str, name: str, shard_kwargs: dict[str, Any]):
        self.name = name
        self.incarnation = uuid.uuid4().hex
        self.shard = Shard(directory, name, **shard_kwargs)
        self.answered_from_log = 0  # retried requests answered with restored results

    # ------------------------------------------------------------------ helpers
    def info(self) -> dict[str, Any]:
        import os

        return {"name": self.name, "incarnation": self.incarnation, "pid": os.getpid(),
                "streams": len(self.shard.stream_ids()),
                "records_replayed": self.shard.records_replayed,
                "answered_from_log": self.answered_from_log}

    def call(self, method: str, *args: Any) -> Any:
        try:
            return getattr(self.shard, method)(*args)
        except ServiceError as exc:
            return _error(exc)

    def _answered(self, batch: Mapping[str, Sequence[Any]]
                  ) -> dict[str, list[dict[str, Any]]] | None:
        """The results of ``batch`` if every stream's records are its last logged records (a
        retried request that was committed before the actor died), else ``None``."""
        out: dict[str, list[dict[str, Any]]] = {}
        with self.shard._lock:
            for stream_id, records in batch.items():
                try:
                    recent = self.shard.recent(stream_id)
                    wanted = []
                    for rec in records:
                        ts, value = ((rec["timestamp"], rec["value"]) if isinstance(rec, Mapping)
                                     else tuple(rec))
                        wanted.append((parse_timestamp(ts, "timestamp")[1], float(value)))
                except (ServiceError, KeyError, TypeError, ValueError):
                    return None
                n = len(wanted)
                if n == 0 or n > len(recent):
                    return None
                tail = recent[-n:]
                if [(r["timestamp"], float(r["value"])) for r in tail] != wanted:
                    return None
                out[stream_id] = tail
        return out

    # ------------------------------------------------------------------ records
    def score_many(self, batch: Mapping[str, Sequence[Any]], known_incarnation: str | None,
                   prefixed: bool = True) -> tuple[Any, str]:
        """Score a (checked) part of a request; ``known_incarnation`` is the token the caller
        last heard from this shard (when it differs, the call may be a retry). Error fields
        name the stream (``streams.<id>.``) unless ``prefixed`` is false (a request for one
        stream)."""
        if known_incarnation != self.incarnation:
            done = self._answered(batch)
            if done is not None:
                self.answered_from_log += 1
                return done, self.incarnation
        try:
            if not prefixed and len(batch) == 1:
                ((stream_id, records),) = batch.items()
                return {stream_id: self.shard.score(stream_id, records)}, self.incarnation
            return self.shard.score_many(batch), self.incarnation
        except ServiceError as exc:
            return _error(exc), self.incarnation


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise ServiceError(422, "backend", "the ray backend needs Ray: pip install "
                                           f"'htmkit[ray]' ({exc})") from None
    return ray


class RayBackend:
    """Streams sharded over Ray actors (see the module docstring); implements
    :class:`~htmkit.service.backend.Backend`.

    Parameters
    ----------
    directory : path
        Data folder shared by every actor (on a cluster: a shared directory at the same path on
        every node).
    shards : int
        Number of shard actors (each holds the streams that hash to it).
    address : str, optional
        Ray cluster to join (``"auto"``, ``"host:port"``, ``"ray://host:port"``); ``None``:
        ``ray.init``'s default (``RAY_ADDRESS`` or a new local cluster). Ignored when Ray is
        already initialised in this process.
    num_cpus : float
        CPUs Ray reserves for each actor.
    ray_init : dict, optional
        Further ``ray.init`` arguments (when this backend starts Ray).
    host_class : type
        The actors' class: :class:`ShardHost` or a subclass (tests inject faults with one).
    **shard_kwargs
        :class:`~htmkit.service.backend.Shard` settings (``snapshot_every``, ``recent``,
        ``alarm_threshold``, ``max_streams`` (for the whole service), ``max_records``,
        ``max_batch_streams``, ``synchronous``, ...).
    """

    def __init__(self, directory: Any, shards: int = 2, *, address: str | None = None,
                 num_cpus: float = 1.0, ray_init: Mapping[str, Any] | None = None,
                 host_class: type[ShardHost] = ShardHost, **shard_kwargs: Any):
        import os

        if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
            raise ServiceError(422, "shards", f"must be an integer >= 1, got {shards!r}")
        self.directory = os.path.abspath(os.fspath(directory))
        self.shards = shards
        self._check_layout()
        ray = _ray()
        self._ray = ray
        self.max_streams = int(shard_kwargs.get("max_streams", 10_000))
        self.max_records = int(shard_kwargs.get("max_records", 10_000))
        self.max_batch_streams = int(shard_kwargs.get("max_batch_streams", 1_000))
        self._started_ray = False
        if not ray.is_initialized():
            kwargs = dict(ray_init or {})
            kwargs.setdefault("namespace", NAMESPACE)
            kwargs.setdefault("log_to_driver", False)
            ray.init(address=address, **kwargs)
            self._started_ray = True
        actor_cls = ray.remote(max_restarts=-1, max_task_retries=-1,
                               num_cpus=num_cpus)(host_class)
        self._hosts = [actor_cls.remote(self.directory, f"shard-{i:03d}", dict(shard_kwargs))
                       for i in range(shards)]
        infos = ray.get([h.info.remote() for h in self._hosts])  # every shard restored
        self._incarnations = [i["incarnation"] for i in infos]
        self._stream_count = sum(int(i["streams"]) for i in infos)  # kept by create/delete
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._closed = False

    # ------------------------------------------------------------------ plumbing
    def _check_layout(self) -> None:
        """The data folder keeps the shard count it was written with (a stream's shard comes
        from it): another count is refused before anything starts."""
        import json
        from pathlib import Path

        from ..serialization import write_json_atomic

        folder = Path(self.directory)
        layout = folder / LAYOUT_FILE
        if layout.is_file():
            try:
                known = int(json.loads(layout.read_text())["shards"])
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise ServiceError(422, "data", f"{layout} is unreadable: {exc}") from None
            if known != self.shards:
                raise ServiceError(422, "shards", f"the data folder {folder} holds {known} "
                                                  f"shards; start with shards={known}")
        else:
            folder.mkdir(parents=True, exist_ok=True)
            write_json_atomic({"backend": "ray", "shards": self.shards}, layout)

    def _host(self, stream_id: str) -> tuple[int, Any]:
        if not isinstance(stream_id, str):
            raise ServiceError(422, "id", "a stream id is a string")
        i = shard_of(stream_id, self.shards)
        return i, self._hosts[i]

    def _get(self, refs: Any) -> Any:
        return self._ray.get(refs)

    def _call(self, stream_id: str, method: str, *args: Any) -> Any:
        _, host = self._host(stream_id)
        return _raise_if_error(self._get(host.call.remote(method, stream_id, *args)))

    def _all(self, method: str, *args: Any) -> list[Any]:
        return [_raise_if_error(r) for r in
                self._get([h.call.remote(method, *args) for h in self._hosts])]

    def _stream_locks(self, ids: Sequence[str]) -> list[threading.Lock]:
        with self._locks_guard:
            return [self._locks.setdefault(i, threading.Lock()) for i in sorted(set(ids))]

    def actors(self) -> list[Any]:
        """The shard actors' handles (shard ``i`` is ``actors()[i]``)."""
        return list(self._hosts)

    def shard_info(self) -> list[dict[str, Any]]:
        """Each shard's name, incarnation token, process id and stream count."""
        return list(self._get([h.info.remote() for h in self._hosts]))

    # ------------------------------------------------------------------ streams
    def create_stream(self, stream_id: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(stream_id, str):
            raise ServiceError(422, "id", "a stream id is a string")
        with self._locks_guard:  # the stream limit holds for the whole service
            if self._stream_count >= self.max_streams:
                raise ServiceError(409, "id", f"the service holds its limit of "
                                              f"{self.max_streams} streams (max_streams)")
            _, host = self._host(stream_id)
            out = _raise_if_error(self._get(host.call.remote("create_stream", stream_id,
                                                             dict(spec))))
            self._stream_count += 1
            return out

    def list_streams(self) -> list[dict[str, Any]]:
        streams = [s for part in self._all("list_streams") for s in part]
        return sorted(streams, key=lambda s: (s["created"], s["id"]))

    def get_stream(self, stream_id: str) -> dict[str, Any]:
        return self._call(stream_id, "get_stream")

    def delete_stream(self, stream_id: str) -> None:
        (lock,) = self._stream_locks([stream_id])
        with lock:
            self._call(stream_id, "delete_stream")
        with self._locks_guard:
            self._stream_count -= 1

    def recent(self, stream_id: str, limit: int | None = None,
               alarms_only: bool = False) -> list[dict[str, Any]]:
        return self._call(stream_id, "recent", limit, alarms_only)

    # ------------------------------------------------------------------ records
    def _split(self, batch: Mapping[str, Sequence[Any]]) -> dict[int, dict[str, Sequence[Any]]]:
        """The request-wide checks, then the request split by shard."""
        check_batch_limits(batch, self.max_batch_streams, self.max_records)
        parts: dict[int, dict[str, Sequence[Any]]] = {}
        for stream_id, records in batch.items():
            i, _ = self._host(stream_id)
            parts.setdefault(i, {})[stream_id] = records
        return parts

    def _check_parts(self, parts: Mapping[int, Mapping[str, Sequence[Any]]]) -> None:
        order = sorted(parts)
        answers = self._get([self._hosts[i].call.remote("check", parts[i]) for i in order])
        for ans in answers:
            _raise_if_error(ans)

    def check(self, batch: Mapping[str, Sequence[Any]]) -> None:
        self._check_parts(self._split(batch))

    def score_many(self, batch: Mapping[str, Sequence[Any]]) -> dict[str, list[dict[str, Any]]]:
        return self._score_many(batch, True)

    def _score_many(self, batch: Mapping[str, Sequence[Any]], prefixed: bool
                    ) -> dict[str, list[dict[str, Any]]]:
        parts = self._split(batch)
        locks = self._stream_locks(list(batch))
        for lock in locks:
            lock.acquire()
        try:
            if len(parts) > 1:  # one shard checks its part whole before it logs anything
                self._check_parts(parts)  # a refused request changes nothing
            order = sorted(parts)
            refs = [self._hosts[i].score_many.remote(parts[i], self._incarnations[i], prefixed)
                    for i in order]
            out: dict[str, list[dict[str, Any]]] = {}
            error: ServiceError | None = None
            for i, (ans, incarnation) in zip(order, self._get(refs), strict=True):
                self._incarnations[i] = incarnation
                try:
                    out.update(_raise_if_error(ans))
                except ServiceError as exc:
                    error = error or exc
            if error is not None:
                raise error
            return {k: out[k] for k in batch if k in out}
        finally:
            for lock in reversed(locks):
                lock.release()

    def score(self, stream_id: str, records: Sequence[Any]) -> list[dict[str, Any]]:
        return self._score_many({stream_id: records}, False).get(stream_id, [])

    # ------------------------------------------------------------------ snapshots
    def snapshot(self, stream_id: str | None = None) -> int:
        if stream_id is not None:
            return int(self._call(stream_id, "snapshot"))
        return sum(int(n) for n in self._all("snapshot"))

    def snapshot_due(self) -> int:
        return sum(int(n) for n in self._all("snapshot_due"))

    # ------------------------------------------------------------------ misc
    def stats(self) -> dict[str, Any]:
        total: dict[str, Any] = {}
        for part in self._all("stats"):
            for k, v in part.items():
                total[k] = total.get(k, 0) + v
        total["shards"] = self.shards
        return total

    def close(self) -> None:
        """Snapshot what changed, close every shard's store and end the actors (and Ray, when
        this backend started it)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._all("close")
        finally:
            for h in self._hosts:
                self._ray.kill(h, no_restart=True)
            if self._started_ray:
                self._ray.shutdown()
