"""How the project's SQLite files are opened: WAL, page size, and parameter adapters."""

from __future__ import annotations

import sqlite3
import time

__all__ = ["connect"]


def _null(value: None) -> None:  # the adapter of None (below)
    return None


# sqlite3 adapts each parameter that is not exactly an int, float, str or bytearray: for
# None and bytes, two failed look-ups (``__adapt__``, ``__conform__``) on every row of
# every batch. Identity adapters (None stays NULL, bytes the same object) make that one
# dictionary hit; an adapter the program registered for these types is kept.
if (type(None), sqlite3.PrepareProtocol) not in sqlite3.adapters:
    sqlite3.register_adapter(type(None), _null)
if (bytes, sqlite3.PrepareProtocol) not in sqlite3.adapters:
    sqlite3.register_adapter(bytes, bytes)


def connect(path: str) -> sqlite3.Connection:
    """A connection to ``path`` for any thread, in autocommit mode (transactions are
    explicit), in WAL mode with ``synchronous=NORMAL``."""
    conn = sqlite3.connect(path, timeout=30.0, check_same_thread=False, isolation_level=None)
    # New files only: a commit writes each dirty page in a system call of its own, and
    # 16 KiB pages take a third of the calls of the default 4 KiB.
    conn.execute("PRAGMA page_size=16384")
    _enable_wal(conn)
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def _enable_wal(conn: sqlite3.Connection, deadline_seconds: float = 30.0) -> None:
    """Switch a database to WAL, waiting out another process doing the same.

    Two processes opening a new database at once race to change its journal mode, and
    SQLite answers the loser "database is locked" at once, without its busy handler.
    """
    deadline = time.monotonic() + deadline_seconds
    delay = 0.005
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)
