"""Backends of the anomaly service: who holds the streams' detectors and keeps them durable.

:class:`Backend` is the interface the HTTP app (:mod:`htmkit.service.app`) talks to. A backend
owns many *streams*, each an :class:`~htmkit.detector.AnomalyDetector` with its record log and
snapshots. :class:`Shard` implements all of it for the streams of one shard in this process,
over one :class:`~htmkit.service.store.Store`; :class:`LocalBackend` is the single shard that
``htmkit serve --backend local`` runs. A distributed backend holds several shards (one per
worker, e.g. a Ray actor wrapping a :class:`Shard`) and routes each stream to
``shard_of(stream_id, n_shards)`` (:func:`~htmkit.service.store.shard_of`, a stable hash): the
store code is the same.

A request is checked whole before any record is scored: :meth:`Backend.check` parses and
validates every record of every stream and raises :class:`ServiceError` (a 4xx naming the
field) without changing anything; :meth:`Backend.score_many` checks again under the shard's
lock, logs every record in one committed transaction, then scores them. The results of a
record: ``seq`` (its number in the stream, from 1), ``timestamp`` (ISO 8601), ``value``,
``raw_anomaly`` (the TM's share of active columns that were not predicted), ``likelihood``
(the anomaly likelihood, a probability), ``score`` (the detector's output: the log-scaled
likelihood in [0, 1], one for a spatial anomaly, damped during the refractory period) and
``alarm`` (``score >= alarm_threshold``).
"""

from __future__ import annotations

import datetime as _dt
import inspect
import math
import re
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from ..errors import HTMKitError
from .store import Store, shard_of

__all__ = ["Backend", "LocalBackend", "PRESETS", "ServiceError", "Shard", "parse_timestamp",
           "shard_of"]

#: Detector parameter presets a stream may name (``{"preset": name}``); ``params`` given beside
#: a preset override its entries.
PRESETS: dict[str, dict[str, Any]] = {
    # the AnomalyDetector defaults (Numenta's NAB detector with the backtracking TM)
    "default": {},
    # the BAMI Temporal Memory instead of the backtracking TM
    "bami": {"config": {"tm": {"implementation": "temporal_memory"}}},
    # the value alone, without the time-of-day encoding
    "value_only": {"use_timestamp": False},
}

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")



def check_batch_limits(batch: Any, max_batch_streams: int, max_records: int) -> None:
    """The request-wide checks of a batch (a mapping of stream ids to record lists): the
    number of streams and of records, before any record is parsed."""
    if not isinstance(batch, Mapping):
        raise ServiceError(422, "streams", "a batch maps stream ids to record lists")
    if len(batch) > max_batch_streams:
        raise ServiceError(422, "streams", f"{len(batch)} streams in one request; at most "
                                           f"{max_batch_streams} (max_batch_streams)")
    total = sum(len(r) if isinstance(r, Sequence) else 0 for r in batch.values())
    if total > max_records:
        raise ServiceError(422, "records", f"{total} records in one request; at most "
                                           f"{max_records} (max_records)")

class ServiceError(HTMKitError):
    """A request the service refuses: ``status`` is its HTTP status, ``field`` the field at
    fault (e.g. ``"records[3].timestamp"``)."""

    def __init__(self, status: int, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.status = status
        self.field = field
        self.message = message


def parse_timestamp(value: Any, field: str) -> tuple[_dt.datetime, str]:
    """A record's timestamp as ``(datetime, canonical ISO 8601 string)``.

    Accepts an ISO 8601 string or a number of seconds since the Unix epoch (read as UTC).
    The datetime is what the detector encodes (its wall-clock fields); replaying the canonical
    string gives the same datetime."""
    if isinstance(value, bool):
        raise ServiceError(422, field, "a timestamp is an ISO 8601 string or epoch seconds")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise ServiceError(422, field, f"timestamp must be finite, got {value!r}")
        try:
            dt = _dt.datetime.fromtimestamp(float(value), tz=_dt.UTC).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError):
            raise ServiceError(422, field, f"timestamp {value!r} is out of range") from None
    elif isinstance(value, str):
        try:
            dt = _dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise ServiceError(422, field, f"cannot parse {value!r} as an ISO 8601 "
                                           "timestamp") from None
    else:
        raise ServiceError(422, field, "a timestamp is an ISO 8601 string or epoch seconds, "
                                       f"got {type(value).__name__}")
    return dt, dt.isoformat()


def _order_key(dt: _dt.datetime) -> _dt.datetime:
    """Timestamps are ordered in UTC when they carry a zone, as given otherwise."""
    if dt.tzinfo is not None:
        return dt.astimezone(_dt.UTC).replace(tzinfo=None)
    return dt


def _detector_kwargs(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The AnomalyDetector arguments of a stream specification (checked names)."""
    from ..detector import AnomalyDetector

    if not isinstance(spec, Mapping):
        raise ServiceError(422, "spec", "a stream specification is an object")
    unknown = set(spec) - {"preset", "params", "min_value", "max_value"}
    if unknown:
        raise ServiceError(422, sorted(unknown)[0], "unknown field of a stream specification")
    preset = spec.get("preset") or "default"
    if preset not in PRESETS:
        raise ServiceError(422, "preset", f"unknown preset {preset!r}; one of "
                                          f"{sorted(PRESETS)}")
    params = spec.get("params") or {}
    if not isinstance(params, Mapping):
        raise ServiceError(422, "params", "detector parameters are an object")
    allowed = set(inspect.signature(AnomalyDetector.__init__).parameters) - {
        "self", "min_value", "max_value"}
    for k in params:
        if k not in allowed:
            raise ServiceError(422, f"params.{k}", "not a detector parameter; one of "
                                                  f"{sorted(allowed)}")
    kwargs = {**PRESETS[preset], **params}
    if isinstance(kwargs.get("suppression"), list):
        kwargs["suppression"] = tuple(kwargs["suppression"])
    for k in ("min_value", "max_value"):
        if spec.get(k) is not None:
            kwargs[k] = spec[k]
    return kwargs


def build_detector(spec: Mapping[str, Any]) -> Any:
    """A new detector for a stream specification; a bad parameter raises :class:`ServiceError`
    (422) naming it."""
    from ..detector import AnomalyDetector
    from ..errors import ParameterError

    kwargs = _detector_kwargs(spec)
    try:
        return AnomalyDetector(**kwargs)
    except ParameterError as exc:
        msg = str(exc)
        field = next((k for k in sorted(kwargs, key=len, reverse=True) if k in msg), "params")
        raise ServiceError(422, field if field in ("min_value", "max_value")
                           else f"params.{field}", msg) from None
    except (TypeError, ValueError) as exc:
        raise ServiceError(422, "params", str(exc)) from None


class Backend(Protocol):
    """What the HTTP app needs from a backend (every method may raise :class:`ServiceError`).

    ``records`` are sequences of ``{"timestamp": ..., "value": ...}`` mappings or
    ``(timestamp, value)`` pairs; results are dicts (see the module docstring). A backend is
    safe to call from several threads.
    """

    def create_stream(self, stream_id: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        """Create a stream (409 when it exists or the stream limit is reached); returns its
        description (:meth:`get_stream`)."""
        ...

    def list_streams(self) -> list[dict[str, Any]]:
        """Every stream's description."""
        ...

    def get_stream(self, stream_id: str) -> dict[str, Any]:
        """A stream's description: ``id``, ``spec``, ``created``, ``records``,
        ``last_timestamp``, ``latest`` (its last result), ``last_alarm``, ``alarms``."""
        ...

    def delete_stream(self, stream_id: str) -> None:
        """Delete a stream with its records and snapshots."""
        ...

    def check(self, batch: Mapping[str, Sequence[Any]]) -> None:
        """Validate a request for several streams without changing anything."""
        ...

    def score_many(self, batch: Mapping[str, Sequence[Any]]) -> dict[str, list[dict[str, Any]]]:
        """Check, log (committed) and score the records of several streams."""
        ...

    def score(self, stream_id: str, records: Sequence[Any]) -> list[dict[str, Any]]:
        """:meth:`score_many` for one stream."""
        ...

    def recent(self, stream_id: str, limit: int | None = None,
               alarms_only: bool = False) -> list[dict[str, Any]]:
        """The stream's most recent results (oldest first)."""
        ...

    def snapshot(self, stream_id: str | None = None) -> int:
        """Snapshot one stream, or every stream with records since its last snapshot;
        returns how many were written."""
        ...

    def snapshot_due(self) -> int:
        """Snapshot the streams whose record count or time since the last snapshot is due."""
        ...

    def stats(self) -> dict[str, Any]:
        """Counters for the metrics endpoint."""
        ...

    def close(self) -> None:
        """Snapshot what changed and release the store."""
        ...


_FIELDS = ("seq", "timestamp", "value", "raw_anomaly", "likelihood", "score", "alarm")


def _result(row: Sequence[Any]) -> dict[str, Any]:
    """A result dict from its stored tuple."""
    return dict(zip(_FIELDS, row, strict=True))


def _copy_arrays(state: Any) -> Any:
    """``state`` with every numpy array copied (a snapshot written while the model runs on)."""
    import numpy as np

    if isinstance(state, np.ndarray):
        return state.copy()
    if isinstance(state, dict):
        return {k: _copy_arrays(v) for k, v in state.items()}
    if isinstance(state, (list, tuple)):
        return type(state)(_copy_arrays(v) for v in state)
    return state


class _Stream:
    __slots__ = ("id", "spec", "created", "detector", "seq", "snap_seq", "last_key", "last_ts",
                 "recent", "since_snapshot", "snapshot_time", "last_alarm", "alarms")

    def __init__(self, stream_id: str, spec: dict[str, Any], created: float, detector: Any,
                 recent: int):
        self.id = stream_id
        self.spec = spec
        self.created = created
        self.detector = detector
        self.seq = 0
        self.snap_seq = 0  # seq of the latest committed snapshot: the log holds the records after
        self.last_key: _dt.datetime | None = None
        self.last_ts: str | None = None
        # results as tuples in _FIELDS order (with their values, 60% of the memory of dicts)
        self.recent: deque[tuple[Any, ...]] = deque(maxlen=recent)
        self.since_snapshot = 0
        self.snapshot_time = time.monotonic()  # when its first record since a snapshot came
        self.last_alarm: dict[str, Any] | None = None
        self.alarms = 0


class Shard:
    """The streams of one shard, in this process, kept durable by one :class:`Store`.

    Parameters
    ----------
    directory : path
        Data folder (database and snapshots); reopened, the shard restores every stream
        from its latest snapshot and the records logged after it.
    name : str
        Shard name (its database ``<name>.db`` and snapshot subfolder).
    snapshot_every : int
        Snapshot a stream after this many records since its last snapshot.
    snapshot_seconds : float
        ... or this many seconds after its first record since its last snapshot (checked by
        :meth:`snapshot_due`, which the server calls every second).
    recent : int
        Results kept per stream for :meth:`recent` (and saved with each snapshot).
    alarm_threshold : float
        A record is an alarm when its score reaches this.
    max_streams : int
        Most streams this shard holds.
    max_records : int
        Most records of one request (all streams together).
    max_batch_streams : int
        Most streams in one request.
    synchronous : {"FULL", "NORMAL"}
        The database's durability (see :mod:`htmkit.service.store`).
    """

    def __init__(self, directory: Any, name: str = "local", *, snapshot_every: int = 1000,
                 snapshot_seconds: float = 300.0, recent: int = 1000,
                 alarm_threshold: float = 0.5, max_streams: int = 10_000,
                 max_records: int = 10_000, max_batch_streams: int = 1_000,
                 synchronous: str = "FULL"):
        for label, v, lo in (("snapshot_every", snapshot_every, 1), ("recent", recent, 1),
                             ("max_streams", max_streams, 1), ("max_records", max_records, 1),
                             ("max_batch_streams", max_batch_streams, 1)):
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise ServiceError(422, label, f"must be an integer >= {lo}, got {v!r}")
        if not (isinstance(snapshot_seconds, (int, float)) and snapshot_seconds > 0):
            raise ServiceError(422, "snapshot_seconds", f"must be > 0, got {snapshot_seconds!r}")
        if not (isinstance(alarm_threshold, (int, float)) and 0 <= alarm_threshold <= 1):
            raise ServiceError(422, "alarm_threshold", "must lie in [0, 1], got "
                                                       f"{alarm_threshold!r}")
        self.snapshot_every = snapshot_every
        self.snapshot_seconds = float(snapshot_seconds)
        self.recent_limit = recent
        self.alarm_threshold = float(alarm_threshold)
        self.max_streams = max_streams
        self.max_records = max_records
        self.max_batch_streams = max_batch_streams
        self.store = Store(directory, name, synchronous=synchronous)
        self._lock = threading.RLock()
        self._snap_lock = threading.Lock()
        self._streams: dict[str, _Stream] = {}
        self.records_scored = 0
        self.records_replayed = 0
        self.snapshots_written = 0
        self.restore()

    # ------------------------------------------------------------------ restore
    def restore(self) -> None:
        """(Re)load every stream of the store: its latest snapshot, then the records logged
        after it, scored again."""
        from ..detector import AnomalyDetector

        with self._lock:
            self._streams = {}
            for stream_id, spec, created in self.store.streams():
                snap = self.store.latest_snapshot(stream_id)
                if snap is None:
                    st = _Stream(stream_id, spec, created, build_detector(spec),
                                 self.recent_limit)
                else:
                    seq, path, meta = snap
                    st = _Stream(stream_id, spec, created, AnomalyDetector.load(path),
                                 self.recent_limit)
                    st.seq = st.snap_seq = seq
                    st.recent.extend(tuple(r) for r in meta.get("recent", []))
                    st.alarms = int(meta.get("alarms", 0))
                    st.last_alarm = meta.get("last_alarm")
                    st.last_ts = meta.get("last_ts")
                    if st.last_ts is not None:
                        st.last_key = _order_key(parse_timestamp(st.last_ts, "last_ts")[0])
                self._streams[stream_id] = st
                for seq, ts, value in self.store.records_after(stream_id, st.seq):
                    dt, _ = parse_timestamp(ts, "timestamp")
                    self._score_one(st, seq, dt, ts, value)
                    st.since_snapshot += 1
                    self.records_replayed += 1

    # ------------------------------------------------------------------ streams
    def create_stream(self, stream_id: str, spec: Mapping[str, Any]) -> dict[str, Any]:
        if not isinstance(stream_id, str) or not _ID.match(stream_id):
            raise ServiceError(422, "id", "a stream id is 1-128 characters of letters, digits "
                                          "and ._:- starting with a letter or digit")
        spec = {k: v for k, v in dict(spec).items() if v is not None}
        detector = build_detector(spec)  # checks the parameters before anything is stored
        with self._lock:
            if stream_id in self._streams:
                raise ServiceError(409, "id", f"stream {stream_id!r} exists")
            if len(self._streams) >= self.max_streams:
                raise ServiceError(409, "id", f"the service holds its limit of "
                                              f"{self.max_streams} streams (max_streams)")
            created = self.store.add_stream(stream_id, spec)
            self._streams[stream_id] = _Stream(stream_id, spec, created, detector,
                                               self.recent_limit)
            return self._describe(self._streams[stream_id])

    def _get(self, stream_id: str, field: str = "stream") -> _Stream:
        st = self._streams.get(stream_id)
        if st is None:
            raise ServiceError(404, field, f"no stream {stream_id!r}")
        return st

    def _describe(self, st: _Stream) -> dict[str, Any]:
        return {"id": st.id, "spec": st.spec, "created": st.created, "records": st.seq,
                "last_timestamp": st.last_ts,
                "latest": _result(st.recent[-1]) if st.recent else None,
                "last_alarm": st.last_alarm, "alarms": st.alarms}

    def list_streams(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self._describe(st) for st in self._streams.values()]

    def stream_ids(self) -> list[str]:
        """The ids of this shard's streams."""
        with self._lock:
            return list(self._streams)

    def get_stream(self, stream_id: str) -> dict[str, Any]:
        with self._lock:
            return self._describe(self._get(stream_id))

    def delete_stream(self, stream_id: str) -> None:
        with self._lock:
            self._get(stream_id)
            self.store.delete_stream(stream_id)
            del self._streams[stream_id]

    # ------------------------------------------------------------------ scoring
    def _parse(self, batch: Mapping[str, Sequence[Any]], prefixed: bool = True
               ) -> list[tuple[_Stream, list[tuple[_dt.datetime, str, float]]]]:
        """Every record of the request parsed and checked; nothing changes. Fields are named
        ``streams.<id>.records[i]...`` (``records[i]...`` when not ``prefixed``: a request
        for one stream)."""
        check_batch_limits(batch, self.max_batch_streams, self.max_records)
        out = []
        for stream_id, records in batch.items():
            prefix = f"streams.{stream_id}." if prefixed else ""
            st = self._get(stream_id, f"{prefix}stream")
            if isinstance(records, (str, bytes)) or not isinstance(records, Sequence):
                raise ServiceError(422, f"{prefix}records", "records are a list")
            last = st.last_key
            parsed = []
            for i, rec in enumerate(records):
                where = f"{prefix}records[{i}]"
                if isinstance(rec, Mapping):
                    if set(rec) - {"timestamp", "value"}:
                        extra = sorted(set(rec) - {"timestamp", "value"})[0]
                        raise ServiceError(422, f"{where}.{extra}", "unknown field of a record")
                    if "timestamp" not in rec or "value" not in rec:
                        missing = "timestamp" if "timestamp" not in rec else "value"
                        raise ServiceError(422, f"{where}.{missing}", "field required")
                    ts, value = rec["timestamp"], rec["value"]
                elif isinstance(rec, Sequence) and not isinstance(rec, (str, bytes)) \
                        and len(rec) == 2:
                    ts, value = rec
                else:
                    raise ServiceError(422, where, "a record is {timestamp, value}")
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ServiceError(422, f"{where}.value", "value must be a number")
                v = float(value)
                if not math.isfinite(v):
                    raise ServiceError(422, f"{where}.value", f"value must be finite, got "
                                                              f"{value!r}")
                dt, canon = parse_timestamp(ts, f"{where}.timestamp")
                key = _order_key(dt)
                if last is not None:
                    try:
                        later = key > last
                    except TypeError:  # cannot happen after _order_key; kept defensive
                        later = False
                    if not later:
                        what = "duplicates" if key == last else "is before"
                        raise ServiceError(422, f"{where}.timestamp",
                                           f"timestamp {canon} {what} the stream's previous "
                                           "timestamp; timestamps must increase")
                last = key
                parsed.append((dt, canon, v))
            out.append((st, parsed))
        return out

    def check(self, batch: Mapping[str, Sequence[Any]]) -> None:
        with self._lock:
            self._parse(batch)

    def score_many(self, batch: Mapping[str, Sequence[Any]]) -> dict[str, list[dict[str, Any]]]:
        return self._score_many(batch, True)

    def _score_many(self, batch: Mapping[str, Sequence[Any]], prefixed: bool
                    ) -> dict[str, list[dict[str, Any]]]:
        with self._lock:
            parsed = self._parse(batch, prefixed)
            rows = [(st.id, st.seq + 1 + i, canon, v)
                    for st, recs in parsed for i, (_, canon, v) in enumerate(recs)]
            if rows:
                self.store.append(rows)  # committed before anything is scored or answered
            out: dict[str, list[dict[str, Any]]] = {}
            now = time.monotonic()
            for st, recs in parsed:
                if recs and st.since_snapshot == 0:
                    st.snapshot_time = now  # the clock of --snapshot-seconds starts
                res = out.setdefault(st.id, [])
                for dt, canon, v in recs:
                    res.append(self._score_one(st, st.seq + 1, dt, canon, v))
                    st.since_snapshot += 1
                self.records_scored += len(recs)
            return out

    def score(self, stream_id: str, records: Sequence[Any]) -> list[dict[str, Any]]:
        return self._score_many({stream_id: records}, False).get(stream_id, [])

    def _score_one(self, st: _Stream, seq: int, dt: _dt.datetime, canon: str,
                   value: float) -> dict[str, Any]:
        det = st.detector
        score = float(det.update(dt, value))
        net = det.network
        if net is not None:
            region = net["likelihood"]
            raw, likelihood = float(region.raw_anomaly), float(region.likelihood)
        else:  # still holding records to derive the value range
            raw, likelihood = 0.0, 0.5
        alarm = score >= self.alarm_threshold
        result = {"seq": seq, "timestamp": canon, "value": value, "raw_anomaly": raw,
                  "likelihood": likelihood, "score": score, "alarm": alarm}
        st.seq = seq
        st.last_key = _order_key(dt)
        st.last_ts = canon
        st.recent.append((seq, canon, value, raw, likelihood, score, alarm))
        if alarm:
            st.alarms += 1
            st.last_alarm = result
        return result

    def recent(self, stream_id: str, limit: int | None = None,
               alarms_only: bool = False) -> list[dict[str, Any]]:
        with self._lock:
            rows = list(self._get(stream_id).recent)
        if alarms_only:
            rows = [r for r in rows if r[6]]
        if limit is not None:
            rows = rows[-limit:] if limit > 0 else []
        return [_result(r) for r in rows]

    # ------------------------------------------------------------------ snapshots
    def _capture(self, st: _Stream) -> tuple[_Stream, int, dict[str, Any], dict[str, Any]]:
        """A copy of the stream's state now (under the lock; cheap next to writing it)."""
        state = _copy_arrays(st.detector.get_state())
        meta = {"recent": list(st.recent), "alarms": st.alarms, "last_alarm": st.last_alarm,
                "last_ts": st.last_ts}
        captured = (st, st.seq, state, meta)
        st.since_snapshot = 0
        return captured

    def _write(self, captured: tuple[_Stream, int, dict[str, Any], dict[str, Any]]) -> bool:
        """Write a captured snapshot (outside the lock: requests go on meanwhile) and make it
        the stream's latest, unless the stream was deleted meanwhile."""
        from ..serialization import save_state

        st, seq, state, meta = captured
        path = self.store.snapshot_path(st.id, seq)
        with self._snap_lock:  # one snapshot written at a time
            try:
                # htmkit's format (atomic: a temporary file moved into place); level 1
                # compression writes it several times faster than the default
                save_state(path, "AnomalyDetector", state, compresslevel=1)
                self.store.sync_snapshots()  # the file's name on disk before its row
            except BaseException:
                with self._lock:
                    st.since_snapshot += 1  # retried at the next due check
                raise
            with self._lock:
                if self._streams.get(st.id) is not st:
                    path.unlink(missing_ok=True)
                    return False
                self.store.commit_snapshot(st.id, seq, path, meta)
                st.snap_seq = max(st.snap_seq, seq)
                self.snapshots_written += 1
        return True

    def snapshot(self, stream_id: str | None = None) -> int:
        with self._lock:
            if stream_id is not None:
                todo = [self._capture(self._get(stream_id))]
            else:
                todo = [self._capture(st) for st in self._streams.values()
                        if st.since_snapshot > 0]
        return sum(self._write(c) for c in todo)

    def due(self) -> list[str]:
        """Streams whose snapshot is due (record count or time)."""
        now = time.monotonic()
        with self._lock:
            return [st.id for st in self._streams.values()
                    if st.since_snapshot >= self.snapshot_every
                    or (st.since_snapshot > 0 and now - st.snapshot_time >= self.snapshot_seconds)]

    def snapshot_due(self) -> int:
        n = 0
        for stream_id in self.due():
            with self._lock:  # one stream at a time: requests run between snapshots
                st = self._streams.get(stream_id)
                if st is None or st.since_snapshot == 0:
                    continue
                captured = self._capture(st)
            n += self._write(captured)
        return n

    # ------------------------------------------------------------------ misc
    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {"streams": len(self._streams), "records_scored": self.records_scored,
                    "records_replayed": self.records_replayed,
                    "snapshots_written": self.snapshots_written,
                    # rows of the log (kept in memory: counting the table is slow when large)
                    "records_logged": sum(st.seq - st.snap_seq
                                          for st in self._streams.values()),
                    "alarms": sum(st.alarms for st in self._streams.values())}

    def close(self) -> None:
        self.snapshot()
        with self._lock:
            self.store.close()


class LocalBackend(Shard):
    """Every stream in this process: one :class:`Shard` named ``"local"``
    (``htmkit serve --backend local``)."""
