"""The batched SQLite writer (flowyml/database.py)."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from flowyml.storage.database import Database

_SCHEMA = "CREATE TABLE IF NOT EXISTS items (name TEXT PRIMARY KEY, value INTEGER);"
_INSERT = "INSERT INTO items (name, value) VALUES (?, ?)"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "items.db", _SCHEMA)
    yield database
    database.close()


def _committed(path: Path) -> set[str]:
    """The rows another connection sees: only what was committed."""
    with sqlite3.connect(path) as other:
        return {row[0] for row in other.execute("SELECT name FROM items")}


def _wait_for(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


def test_a_row_violating_a_constraint_is_dropped_and_its_batch_kept(db, caplog):
    db.write(_INSERT, ("a", 1))
    db.write(_INSERT, ("a", 2))  # duplicate primary key
    db.write(_INSERT, ("b", 3))
    with caplog.at_level(logging.WARNING, logger="flowyml.storage.database"):
        db.flush()
    assert _committed(db.path) == {"a", "b"}
    assert db.query("SELECT value FROM items WHERE name='a'") == [(1,)]
    [record] = caplog.records
    assert "UNIQUE constraint failed" in record.getMessage()
    assert _INSERT in record.getMessage() and "\n" not in record.getMessage()


def test_a_parameter_sqlite_cannot_bind_is_dropped_and_its_batch_kept(db, caplog):
    db.write(_INSERT, ("a", 1))
    db.write(_INSERT, ("bad", object()))
    db.write(_INSERT, ("huge", 2**70))
    db.write("UPDATE items SET value=? WHERE name=?", (5, "a"))
    with caplog.at_level(logging.WARNING, logger="flowyml.storage.database"):
        db.flush()
    assert db.query("SELECT name, value FROM items") == [("a", 5)]
    assert len(caplog.records) == 2


def test_a_flush_from_another_thread_keeps_the_good_rows(db):
    db.write(_INSERT, ("a", 1))
    db.write(_INSERT, ("a", 1))
    db.write(_INSERT, ("b", 2))
    worker = threading.Thread(target=db.flush)
    worker.start()
    worker.join()
    assert _committed(db.path) == {"a", "b"}


def test_the_background_writer_keeps_committing_after_a_failed_row(db):
    db.write(_INSERT, ("a", 1))
    db.write(_INSERT, ("a", 1))
    db.write(_INSERT, ("b", 2))
    assert _wait_for(lambda: _committed(db.path) == {"a", "b"})
    db.write(_INSERT, ("c", 3))
    assert _wait_for(lambda: "c" in _committed(db.path))


def test_the_background_writer_survives_a_periodic_callback_that_raises(db):
    def broken() -> None:
        raise RuntimeError("boom")

    db.call_periodically(broken)
    db.write(_INSERT, ("a", 1))
    assert _wait_for(lambda: _committed(db.path) == {"a"})
    db.write(_INSERT, ("b", 2))
    assert _wait_for(lambda: _committed(db.path) == {"a", "b"})


def test_commit_now_is_committed_on_return_and_reports_its_errors(db):
    db.write(_INSERT, ("queued", 0))
    assert db.commit_now([(_INSERT, ("now", 1)), ("UPDATE items SET value=2", ())]) == [1, 2]
    assert _committed(db.path) == {"queued", "now"}
    with pytest.raises(sqlite3.IntegrityError):
        db.commit_now([(_INSERT, ("other", 1)), (_INSERT, ("now", 1))])
    assert _committed(db.path) == {"queued", "now"}


def test_an_old_runs_table_gets_the_new_columns_on_open(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE runs (run_id TEXT PRIMARY KEY, pipeline TEXT NOT NULL,"
            " backend TEXT NOT NULL, status TEXT NOT NULL, started_at REAL NOT NULL,"
            " finished_at REAL, params TEXT NOT NULL DEFAULT '{}', error TEXT,"
            " project TEXT NOT NULL DEFAULT 'default', resumed_from TEXT, pipeline_ref TEXT)"
        )
        old.execute(
            "INSERT INTO runs (run_id, pipeline, backend, status, started_at)"
            " VALUES ('r1', 'demo', 'local', 'success', 1.0)"
        )
    database = Database(path)
    columns = {row[1] for row in database.query("PRAGMA table_info(runs)")}
    assert {"owner_host", "owner_pid", "owner_started", "heartbeat_at"} <= columns
    assert database.query("SELECT status FROM runs") == [("success",)]
    database.close()
    Database(path).close()  # opening a migrated file again changes nothing


def test_a_batch_source_adds_its_writes_after_those_queued_and_keeps_them_on_failure(
    db, monkeypatch
):
    upsert = "INSERT OR REPLACE INTO items (name, value) VALUES (?, ?)"
    pending = [("a", 10)]

    def source() -> list[tuple[str, tuple[str, int]]]:
        taken = [(upsert, row) for row in pending]
        pending.clear()
        return taken

    db.add_batch_source(source)
    db.write(upsert, ("a", 1))  # queued before: the source's row replaces it

    def locked() -> None:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(db, "_begin", locked)
    with pytest.raises(sqlite3.OperationalError):
        db.flush()
    monkeypatch.undo()
    db.write(_INSERT, ("b", 2))
    db.flush()  # the failed batch, the source's row in it, then the write queued after
    with sqlite3.connect(db.path) as other:
        assert sorted(other.execute("SELECT name, value FROM items")) == [("a", 10), ("b", 2)]
