"""The embedded SQLite database under ``.flowyml/``, with batched writes.

Writes are queued and committed in batches — one transaction per batch, at the latest a
fraction of a second after they were queued, and always on :meth:`Database.flush` — so a
run of a thousand steps pays microseconds per recorded event, not a commit each. WAL mode
with ``synchronous=NORMAL`` keeps readers and concurrent runs from blocking each other.

A write that fails (a violated constraint, a value SQLite cannot store) is logged and
dropped on its own: the batch is replayed statement by statement so every other write of
it is kept, and the background writer goes on committing later batches.
"""

from __future__ import annotations

import atexit
import os
import sqlite3
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from flowyml.storage.schema import ADDED_COLUMNS as _ADDED_COLUMNS
from flowyml.storage.schema import SCHEMA as _SCHEMA
from flowyml.storage.sqlite_setup import connect

if TYPE_CHECKING:
    import logging
    from pathlib import Path

__all__ = ["Database"]

# A queued write: (sql, params).
_Write = Sequence[Any]


# A dropped write is reported through logging, not warnings.warn: it happens on the writer
# thread, where `-W error` would turn the report into an exception that drops the rest of
# the batch, and the default warning filter would hide every repeat after the first.
# Without logging configured, Python prints WARNING records on stderr, one line each.


def _log() -> logging.Logger:
    """This module's logger; logging is imported when something is reported (a step
    runner starts once per step group, and usually reports nothing)."""
    import logging

    return logging.getLogger(__name__)


_open_databases: weakref.WeakSet[Database] = weakref.WeakSet()


@atexit.register
def _flush_all() -> None:
    """Commit what is queued before the interpreter exits (the flusher is a daemon)."""
    for database in list(_open_databases):
        if database._closed:
            continue
        try:
            database.flush()
        except Exception as exc:  # the other databases must still be flushed
            _log().error("flowyml: could not commit to %s at exit: %s", database.path, exc)


_FLUSH_INTERVAL = 0.2
_FLUSH_BATCH = 2000
_PARAMS_SHOWN = 200  # characters of a dropped write's parameters in its log line

# SQLite result codes that say the database, not the statement, is at fault: a write
# failing with one is kept for the next flush instead of being dropped as a bad row.
_DATABASE_ERRORS = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_CORRUPT,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_NOMEM,
        sqlite3.SQLITE_NOTADB,
        sqlite3.SQLITE_PROTOCOL,
        sqlite3.SQLITE_READONLY,
    }
)


class Database:
    """One SQLite file shared by the run store and the cache index.

    Args:
        path: the database file; its directory is created if needed.
        schema: the ``CREATE ... IF NOT EXISTS`` script run on open.
    """

    def __init__(self, path: str | Path, schema: str = _SCHEMA) -> None:
        # A string, not a Path: a step runner opens the store of small objects at start.
        self._file = os.fspath(path)
        os.makedirs(os.path.dirname(self._file) or ".", exist_ok=True)
        self._conn = connect(self._file)
        self._add_missing_columns()
        self._conn.executescript(schema)
        self._lock = threading.RLock()
        self._pending: list[_Write] = []
        self._pending_lock = threading.Lock()
        self._batch_sources: list[Callable[[], list[tuple[str, tuple[Any, ...]]]]] = []
        self._wake = threading.Event()
        self._closed = False
        self._flusher: threading.Thread | None = None
        self._periodic: list[Callable[[], None]] = []
        # Flushes of other stores to commit before each batch of this database: a record
        # must never be visible before the artifacts it names (see Project.artifact_store).
        self.commit_first: list[Callable[[], None]] = []
        self._last_failure = ""
        self._commits = 0
        _open_databases.add(self)

    def _add_missing_columns(self) -> None:
        # Before the schema script, whose indexes may name the added columns.
        if not self._missing_columns():
            return
        # Checked again inside a write transaction: two processes opening an old file at
        # once must not both add a column (the second ALTER would fail).
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            for table, column, declaration in self._missing_columns():
                self._conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    def _missing_columns(self) -> list[tuple[str, str, str]]:
        present: dict[str, set[str]] = {}
        for table, _, _ in _ADDED_COLUMNS:
            if table not in present:
                rows = self._conn.execute(f"PRAGMA table_info({table})")
                present[table] = {row[1] for row in rows}
        return [
            added
            for added in _ADDED_COLUMNS
            if present[added[0]] and added[1] not in present[added[0]]
        ]

    def write(self, sql: str, params: tuple[Any, ...]) -> None:
        """Queue a write; it is committed with the next batch."""
        with self._pending_lock:
            self._pending.append((sql, params))
            count = len(self._pending)
        if self._flusher is None:
            self._start_flusher()
        if count >= _FLUSH_BATCH:
            self._wake.set()

    def add_batch_source(self, source: Callable[[], list[tuple[str, tuple[Any, ...]]]]) -> None:
        """Have ``source()`` add writes to each batch as a flush takes it.

        It is called holding the queue's lock, so what it returns is committed after every
        write queued before and before every write queued after. The run store adds the
        start rows of the steps still running this way: a step that ends before the next
        commit then costs one row, and its start no write at all.
        """
        with self._pending_lock:
            self._batch_sources.append(source)
        if self._flusher is None:
            self._start_flusher()

    def call_periodically(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` from the background writer, before each batch it commits.

        The writer wakes at least every 0.2 s, so the callback can queue writes of its own
        (a heartbeat) without a thread of its own; it decides itself whether they are due.
        An exception it raises is logged and does not stop the writer.
        """
        with self._lock:
            self._periodic.append(callback)
        if self._flusher is None:
            self._start_flusher()

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
            for callback in list(self._periodic):
                try:
                    callback()
                except BaseException as exc:  # a broken callback must not end the writer
                    self._report_failure(f"periodic {callback!r} failed", exc)
            try:
                self.flush()
            except BaseException as exc:
                # flush() put the batch back, so the next round retries it. Nothing above
                # this loop could act on the exception, and a dead writer would silently
                # lose every later write of the process.
                self._report_failure(f"could not commit to {self.path}; retrying", exc)

    def _report_failure(self, what: str, exc: BaseException) -> None:
        message = f"{what}: {type(exc).__name__}: {exc}"
        if message != self._last_failure:  # a database that stays broken logs once, not 5/s
            self._last_failure = message
            _log().error("flowyml: %s", message)

    def flush(self) -> None:
        """Commit every queued write now, in one transaction.

        A write that fails on its own is logged and dropped; the others are committed.

        Raises:
            sqlite3.Error: the transaction itself failed (database locked past the
                timeout, disk full...); the queued writes are kept for the next flush.
        """
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        # Taking the batch under the connection lock commits batches in the order they were
        # queued, even when several threads flush at once.
        if self._closed:
            return  # close() committed the queue; the connection is gone
        for commit_first in self.commit_first:
            # What these commit was queued before the records below that point at it.
            commit_first()
        with self._pending_lock:
            batch, self._pending = self._pending, []
            for source in self._batch_sources:
                batch += source()
        if not batch:
            return
        try:
            self._begin()
            try:
                self._execute_runs(batch)
            except Exception:
                # One bad row aborts its executemany, and which rows before it were applied
                # is unknown: start over, one statement at a time, in a new transaction.
                self._rollback()
                self._begin()
                self._execute_each(batch)
            self._conn.execute("COMMIT")
        except BaseException:
            with self._pending_lock:
                self._pending[:0] = batch
            self._rollback()
            raise
        self._commits += 1
        self._last_failure = ""

    @property
    def commits(self) -> int:
        """How many batches this connection committed; a change means writes queued
        before it was read may have been committed."""
        return self._commits

    def _begin(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def _rollback(self) -> None:
        # Some errors (disk full, I/O) already rolled the transaction back.
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    def _execute_runs(self, batch: list[_Write]) -> None:
        """The fast path: one executemany per run of consecutive writes of equal SQL."""
        run: list[tuple[Any, ...]] = []
        current_sql = batch[0][0]
        for sql, params in batch:
            if sql != current_sql:
                self._conn.executemany(current_sql, run)
                run, current_sql = [], sql
            run.append(params)
        self._conn.executemany(current_sql, run)

    def _execute_each(self, batch: list[_Write]) -> None:
        for sql, params in batch:
            try:
                self._conn.execute(sql, params)
            except Exception as exc:
                code = getattr(exc, "sqlite_errorcode", None)  # only errors SQLite reported
                if not self._conn.in_transaction or (
                    code is not None and (code & 0xFF) in _DATABASE_ERRORS
                ):
                    raise  # the database is at fault, not this row: keep the batch
                # SQLite undid the failed statement alone; the rest of the batch is kept.
                shown = repr(params)
                if len(shown) > _PARAMS_SHOWN:
                    shown = shown[:_PARAMS_SHOWN] + "...)"
                _log().warning(
                    "flowyml: dropped a write to %s that failed (%s: %s): %s with %s",
                    self.path,
                    type(exc).__name__,
                    str(exc).replace("\n", " "),
                    sql,
                    shown,
                )

    def commit_now(self, statements: Sequence[tuple[str, tuple[Any, ...]]]) -> list[int]:
        """Commit the queued writes, then ``statements`` in a transaction of their own.

        Unlike :meth:`write`, the statements are committed when this returns, and an error
        reaches the caller, with none of ``statements`` applied.

        Args:
            statements: (SQL, parameters) pairs, run in order.

        Returns:
            The number of rows each statement changed.

        Raises:
            sqlite3.Error: a statement failed, or the database is unusable.
        """
        with self._lock:
            self._flush_locked()
            self._begin()
            try:
                counts = [self._conn.execute(sql, params).rowcount for sql, params in statements]
            except BaseException:
                self._rollback()
                raise
            self._conn.execute("COMMIT")
            self._commits += 1
            return counts

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a read query after committing queued writes (reads see every write)."""
        with self._lock:
            self._flush_locked()
            return self._conn.execute(sql, tuple(params)).fetchall()

    @property
    def path(self) -> Path:
        """The database file."""
        from pathlib import Path

        return Path(self._file)

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
