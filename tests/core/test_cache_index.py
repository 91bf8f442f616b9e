"""The cache index when its rows or its database go bad: a bad row is a miss, never a
crash or a wrong hit; a database that refuses is a CacheError naming the file."""

from __future__ import annotations

import sqlite3

import pytest

from flowyml import CacheError
from flowyml.storage.cache import CacheStore
from flowyml.storage.database import Database


def test_an_unreadable_entry_is_a_miss_and_is_dropped(tmp_path):
    path = tmp_path / "flowyml.db"
    first = Database(path)
    CacheStore(first).record("good", "train", {"model": {"uri": "file:///m"}})
    first.close()
    with sqlite3.connect(path) as conn:  # a torn or hand-edited row
        conn.execute(
            "INSERT INTO cache (key, step, outputs, created_at) VALUES ('bad', 'train', '{', 0)"
        )
    second = Database(path)
    cache = CacheStore(second)
    assert cache.lookup("bad", "train") is None
    assert cache.lookup("good", "train") == {"model": {"uri": "file:///m"}}
    second.flush()
    rows = second.query("SELECT key FROM cache ORDER BY key")
    assert rows == [("good",)]
    second.close()


def test_clearing_a_database_that_refuses_writes_names_the_file(tmp_path):
    path = tmp_path / "flowyml.db"
    database = Database(path)
    cache = CacheStore(database)
    cache.record("k", "train", {})
    database.flush()
    blocker = sqlite3.connect(path, timeout=0)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    database._conn.execute("PRAGMA busy_timeout = 50")
    try:
        with pytest.raises(CacheError, match=r"cannot clear the cache index in .*flowyml\.db"):
            cache.clear()
    finally:
        blocker.rollback()
        blocker.close()
    assert cache.clear() == 1
    database.close()
