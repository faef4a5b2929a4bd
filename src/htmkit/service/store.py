"""Durable storage of one shard of the anomaly service: SQLite (WAL) plus snapshot files.

One :class:`Store` belongs to one shard (the local backend is one shard; a Ray actor holds
another) and keeps, in the folder it is given:

* ``<name>.db`` — a SQLite database in WAL mode with three tables:

  - ``streams (id, params, created)``: each stream's detector specification as JSON;
  - ``records (stream, seq, ts, value)``: the record log, ``seq`` counting from 1 per stream;
  - ``snapshots (stream, seq, path, created, recent)``: the latest model snapshot of each
    stream, taken after record ``seq``, and the stream's recent results and alarm count at
    that point (JSON).

* ``snapshots/<name>/<stream key>-<seq>.htm`` — the model snapshots, written atomically in
  htmkit's own save format (:mod:`htmkit.serialization`).

Guarantees: :meth:`Store.append` commits the records before it returns (the caller scores them
and answers only afterwards), so a record that was answered is in the log. A snapshot is first
written to its file (atomically, the file and then its folder synced to disk), then its
metadata is committed together with the compaction
(the stream's older snapshot rows and every logged record up to ``seq`` are deleted), then the
older snapshot files are removed; a crash between those steps leaves either the old snapshot
with its records or the new one, and files that no row names are removed when the store opens.
With ``synchronous="FULL"`` (the default) every commit reaches the disk before it returns, so
answered records survive a power cut as well as a killed process; ``"NORMAL"`` survives a
killed process only.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["Store", "stream_key", "shard_of"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS streams (
    id TEXT PRIMARY KEY,
    params TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
    stream TEXT NOT NULL,
    seq INTEGER NOT NULL,
    ts TEXT NOT NULL,
    value REAL NOT NULL,
    PRIMARY KEY (stream, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS snapshots (
    stream TEXT NOT NULL,
    seq INTEGER NOT NULL,
    path TEXT NOT NULL,
    created REAL NOT NULL,
    recent TEXT NOT NULL,
    PRIMARY KEY (stream, seq)
) WITHOUT ROWID;
"""


def stream_key(stream_id: str) -> str:
    """A stable, file-name-safe key of a stream id (hex of its BLAKE2b digest)."""
    return hashlib.blake2b(stream_id.encode("utf-8"), digest_size=10).hexdigest()


def shard_of(stream_id: str, shards: int) -> int:
    """The shard (``0 .. shards - 1``) that owns ``stream_id``: a stable hash of the id, the
    same in every process and on every machine (unlike Python's ``hash``)."""
    digest = hashlib.blake2b(stream_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards


def _exclusive(path: Path, timeout: float) -> Any:
    """Open ``path`` and hold an exclusive ``flock`` on it (waiting up to ``timeout`` s)."""
    import fcntl

    fh = open(path, "a+")  # held open while the store is
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fh
        except BlockingIOError:
            if time.monotonic() >= deadline:
                fh.close()
                raise RuntimeError(f"{path}: another process holds this shard") from None
            time.sleep(0.05)


class Store:
    """The database and snapshot folder of one shard (see the module docstring).

    Parameters
    ----------
    directory : path
        Folder of the data (created when missing); several shards may share it.
    name : str
        Name of this shard's database and snapshot subfolder.
    synchronous : {"FULL", "NORMAL"}
        SQLite's ``synchronous`` setting (see the module docstring).
    lock_timeout : float
        One process at a time opens a shard: the store holds an exclusive lock on
        ``<name>.lock`` while open (released when its process ends, killed or not) and waits
        up to this many seconds for it (a restarted worker waits for the one it replaces).
    """

    def __init__(self, directory: str | os.PathLike[str], name: str = "local",
                 synchronous: str = "FULL", lock_timeout: float = 60.0):
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be 'FULL' or 'NORMAL', got {synchronous!r}")
        self.synchronous = synchronous
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.snapshot_dir = self.directory / "snapshots" / name
        self.snapshot_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / f"{name}.db"
        self._lockfile = _exclusive(self.directory / f"{name}.lock", lock_timeout)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        self._db.executescript(_SCHEMA)
        self._remove_orphans()

    # ------------------------------------------------------------------ streams
    def add_stream(self, stream_id: str, params: dict[str, Any]) -> float:
        """Record a new stream; returns its creation time."""
        created = time.time()
        with self._lock:
            self._db.execute("INSERT INTO streams (id, params, created) VALUES (?, ?, ?)",
                             (stream_id, json.dumps(params, sort_keys=True), created))
        return created

    def streams(self) -> list[tuple[str, dict[str, Any], float]]:
        """Every stream as ``(id, params, created)``, in creation order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, params, created FROM streams ORDER BY created, id").fetchall()
        return [(r[0], json.loads(r[1]), float(r[2])) for r in rows]

    def delete_stream(self, stream_id: str) -> None:
        """Remove a stream, its records and its snapshots."""
        with self._lock:
            paths = [r[0] for r in self._db.execute(
                "SELECT path FROM snapshots WHERE stream = ?", (stream_id,))]
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for table, col in (("records", "stream"), ("snapshots", "stream"),
                                   ("streams", "id")):
                    self._db.execute(f"DELETE FROM {table} WHERE {col} = ?", (stream_id,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        for p in paths:
            self._unlink(p)

    # ------------------------------------------------------------------ records
    def append(self, rows: Iterable[tuple[str, int, str, float]]) -> None:
        """Log records ``(stream, seq, ts, value)`` in one transaction, committed (on disk
        with ``synchronous="FULL"``) when this returns."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(
                    "INSERT INTO records (stream, seq, ts, value) VALUES (?, ?, ?, ?)", rows)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def records_after(self, stream_id: str, seq: int) -> list[tuple[int, str, float]]:
        """The logged records of a stream after ``seq``, as ``(seq, ts, value)`` in order."""
        with self._lock:
            return [(int(a), str(b), float(c)) for a, b, c in self._db.execute(
                "SELECT seq, ts, value FROM records WHERE stream = ? AND seq > ? ORDER BY seq",
                (stream_id, seq))]

    def last_seq(self, stream_id: str) -> int:
        """The highest logged or snapshotted ``seq`` of a stream (0 when none)."""
        with self._lock:
            a = self._db.execute("SELECT MAX(seq) FROM records WHERE stream = ?",
                                 (stream_id,)).fetchone()[0]
            b = self._db.execute("SELECT MAX(seq) FROM snapshots WHERE stream = ?",
                                 (stream_id,)).fetchone()[0]
        return max(int(a or 0), int(b or 0))

    def count_records(self) -> int:
        """Records held in the log (those not yet compacted into a snapshot)."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM records").fetchone()[0])

    # ------------------------------------------------------------------ snapshots
    def snapshot_path(self, stream_id: str, seq: int) -> Path:
        """Where the snapshot of ``stream_id`` after record ``seq`` is written."""
        return self.snapshot_dir / f"{stream_key(stream_id)}-{seq}.htm"

    def sync_snapshots(self) -> None:
        """fsync the snapshot folder, so that a snapshot moved into place survives a power cut
        before its row is committed (with ``synchronous="FULL"``)."""
        if self.synchronous != "FULL":
            return
        fd = os.open(self.snapshot_dir, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def commit_snapshot(self, stream_id: str, seq: int, path: Path,
                        meta: dict[str, Any]) -> None:
        """Make the (already written) snapshot ``path`` after record ``seq`` the stream's
        latest, with ``meta`` (JSON: the stream's recent results and the like), and compact:
        older snapshots and the records up to ``seq`` go."""
        with self._lock:
            old = [r[0] for r in self._db.execute(
                "SELECT path FROM snapshots WHERE stream = ? AND seq < ?", (stream_id, seq))]
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.execute(
                    "INSERT OR REPLACE INTO snapshots (stream, seq, path, created, recent) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (stream_id, seq, path.name, time.time(), json.dumps(meta)))
                self._db.execute("DELETE FROM snapshots WHERE stream = ? AND seq < ?",
                                 (stream_id, seq))
                self._db.execute("DELETE FROM records WHERE stream = ? AND seq <= ?",
                                 (stream_id, seq))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        for p in old:
            if p != path.name:
                self._unlink(p)

    def latest_snapshot(self, stream_id: str) -> tuple[int, Path, dict[str, Any]] | None:
        """``(seq, path, meta)`` of the stream's latest snapshot, or ``None``."""
        with self._lock:
            row = self._db.execute(
                "SELECT seq, path, recent FROM snapshots WHERE stream = ? "
                "ORDER BY seq DESC LIMIT 1", (stream_id,)).fetchone()
        if row is None:
            return None
        return int(row[0]), self.snapshot_dir / row[1], json.loads(row[2])

    # ------------------------------------------------------------------ housekeeping
    def _unlink(self, name: str) -> None:
        try:
            (self.snapshot_dir / name).unlink()
        except FileNotFoundError:
            pass

    def _remove_orphans(self) -> None:
        """Remove snapshot files that no row names (left by a crash mid-snapshot)."""
        with self._lock:
            known = {r[0] for r in self._db.execute("SELECT path FROM snapshots")}
        for f in self.snapshot_dir.iterdir():
            if f.is_file() and f.name not in known:
                f.unlink(missing_ok=True)

    def close(self) -> None:
        """Checkpoint the WAL and close the database."""
        with self._lock:
            try:
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                self._db.close()
                self._lockfile.close()  # releases the lock
