"""The SQLite run store (flowyml/run_store.py) and cache index (flowyml/cache.py)."""

from __future__ import annotations

import pytest

from flowyml import ExecutionResult, ExecutionStatus, RunNotFoundError
from flowyml.cache import CacheStore
from flowyml.database import Database
from flowyml.run_store import RunStore


@pytest.fixture
def db(tmp_path):
    database = Database(tmp_path / "flowyml.db")
    yield database
    database.close()


def test_run_and_steps_are_recorded_and_read_back(db):
    store = RunStore(db)
    store.create_run("abc123", "demo", "local", {"params": {"n": 1}})
    store.step_started("abc123", "load", 1.0)
    store.step_finished(
        "abc123",
        ExecutionResult(
            step_name="load",
            success=False,
            error="boom",
            traceback="Traceback...",
            retries=2,
            logs="hello\n",
        ),
    )
    store.finish_run("abc123", ExecutionStatus.FAILED, "step 'load' failed")
    record = store.get_run("abc")  # a unique prefix is enough
    assert record.status is ExecutionStatus.FAILED and record.params == {"params": {"n": 1}}
    [step] = record.steps
    assert (step.step, step.status, step.retries, step.traceback) == (
        "load",
        ExecutionStatus.FAILED,
        2,
        "Traceback...",
    )
    assert store.get_logs("abc123")[0][2] == "hello\n"


def test_unknown_run_id_is_a_clear_error(db):
    with pytest.raises(RunNotFoundError, match="run 'nope' does not exist"):
        RunStore(db).get_run("nope")


def test_writes_survive_reopening(tmp_path):
    first = Database(tmp_path / "f.db")
    RunStore(first).create_run("r1", "demo", "local", {})
    first.close()
    second = Database(tmp_path / "f.db")
    assert RunStore(second).get_run("r1").pipeline == "demo"
    second.close()


def test_cache_entries_are_found_after_preload_from_another_connection(tmp_path):
    first = Database(tmp_path / "c.db")
    CacheStore(first).record("k1", "train", {"model": {"uri": "file:///x.json"}})
    first.close()
    second = Database(tmp_path / "c.db")
    cache = CacheStore(second)
    cache.preload(["train"])
    assert cache.lookup("k1", "train") == {"model": {"uri": "file:///x.json"}}
    assert cache.lookup("k2", "train") is None
    second.close()
