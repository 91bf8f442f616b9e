"""The embedded SQLite database under ``.flowyml/``, with batched writes.

Writes are queued and committed in batches — one transaction per batch, at the latest a
fraction of a second after they were queued, and always on :meth:`Database.flush` — so a
run of a thousand steps pays microseconds per recorded event, not a commit each. WAL mode
with ``synchronous=NORMAL`` keeps readers and concurrent runs from blocking each other.
"""

from __future__ import annotations

import atexit
import sqlite3
import threading
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["Database"]

_open_databases: weakref.WeakSet[Database] = weakref.WeakSet()


@atexit.register
def _flush_all() -> None:
    """Commit what is queued before the interpreter exits (the flusher is a daemon)."""
    for database in list(_open_databases):
        if not database._closed:
            database.flush()


_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    pipeline TEXT NOT NULL,
    backend TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL,
    params TEXT NOT NULL DEFAULT '{}',
    error TEXT,
    project TEXT NOT NULL DEFAULT 'default',
    resumed_from TEXT,
    pipeline_ref TEXT
);
CREATE INDEX IF NOT EXISTS runs_started ON runs(started_at);
CREATE TABLE IF NOT EXISTS step_runs (
    run_id TEXT NOT NULL,
    step TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at REAL,
    finished_at REAL,
    duration REAL,
    retries INTEGER NOT NULL DEFAULT 0,
    cached INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    traceback TEXT,
    outputs TEXT NOT NULL DEFAULT '{}',
    exit_code INTEGER,
    cache_key TEXT,
    PRIMARY KEY (run_id, step)
);
CREATE TABLE IF NOT EXISTS logs (
    run_id TEXT NOT NULL,
    step TEXT NOT NULL,
    ts REAL NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS logs_run ON logs(run_id, step);
CREATE TABLE IF NOT EXISTS cache (
    key TEXT PRIMARY KEY,
    step TEXT NOT NULL,
    outputs TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS cache_step ON cache(step);
"""

_FLUSH_INTERVAL = 0.2
_FLUSH_BATCH = 2000


class Database:
    """One SQLite file shared by the run store and the cache index.

    Args:
        path: the database file; its directory is created if needed.
    """

    def __init__(self, path: str | Path, schema: str = _SCHEMA) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(
            self.path, timeout=30.0, check_same_thread=False, isolation_level=None
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(schema)
        self._lock = threading.RLock()
        self._pending: list[tuple[str, tuple[Any, ...]]] = []
        self._pending_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._flusher: threading.Thread | None = None
        _open_databases.add(self)

    def write(self, sql: str, params: tuple[Any, ...]) -> None:
        """Queue a write; it is committed with the next batch."""
        with self._pending_lock:
            self._pending.append((sql, params))
            count = len(self._pending)
        if self._flusher is None:
            self._start_flusher()
        if count >= _FLUSH_BATCH:
            self._wake.set()

    def _start_flusher(self) -> None:
        with self._lock:
            if self._flusher is None and not self._closed:
                self._flusher = threading.Thread(
                    target=self._flush_loop, name="flowyml-db-flusher", daemon=True
                )
                self._flusher.start()

    def _flush_loop(self) -> None:
        while not self._closed:
            self._wake.wait(_FLUSH_INTERVAL)
            self._wake.clear()
            self.flush()

    def flush(self) -> None:
        """Commit every queued write now, in one transaction."""
        with self._pending_lock:
            batch, self._pending = self._pending, []
        if not batch:
            return
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                run: list[tuple[Any, ...]] = []
                current_sql = batch[0][0]
                for sql, params in batch:
                    if sql != current_sql:
                        self._conn.executemany(current_sql, run)
                        run, current_sql = [], sql
                    run.append(params)
                self._conn.executemany(current_sql, run)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read query after committing queued writes (reads see every write)."""
        self.flush()
        with self._lock:
            return self._conn.execute(sql, tuple(params)).fetchall()

    def close(self) -> None:
        """Flush and close; safe to call twice."""
        if self._closed:
            return
        self.flush()
        self._closed = True
        self._wake.set()
        if self._flusher is not None and self._flusher is not threading.current_thread():
            self._flusher.join(timeout=5)
        with self._lock:
            self._conn.close()
