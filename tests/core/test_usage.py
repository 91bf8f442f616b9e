"""The resource usage record (flowyml/records/usage.py) and where the run store keeps it."""

from __future__ import annotations

import dataclasses
import json
import sqlite3

import pytest

from flowyml import ExecutionResult, ExecutionStatus, ResourceUsage
from flowyml.storage.database import Database
from flowyml.storage.run_store import RunStore

_USAGE = ResourceUsage(
    wall_seconds=2.5,
    cpu_user_seconds=1.25,
    cpu_system_seconds=0.25,
    peak_memory_bytes=300 * 2**20,
    gpu_peak_memory_bytes=None,
    exact=True,
    source="rusage",
    memory_limit_bytes=2**30,
)


@pytest.fixture
def db(tmp_path):
    database = Database(tmp_path / "flowyml.db")
    yield database
    database.close()


def test_cpu_seconds_is_user_plus_system():
    assert _USAGE.cpu_seconds == pytest.approx(1.5)


def test_a_record_survives_json_and_ignores_keys_it_does_not_know():
    data = json.loads(json.dumps(_USAGE.to_dict()))
    assert ResourceUsage.from_dict(data) == _USAGE
    assert ResourceUsage.from_dict({**data, "from_a_newer_version": 1}) == _USAGE


def test_a_finished_step_keeps_its_usage_and_its_summary_shows_it(db):
    store = RunStore(db)
    store.create_run("r1", "demo", "subprocess", {})
    store.step_started("r1", "train", 1.0)
    store.step_finished("r1", ExecutionResult(step_name="train", success=True, usage=_USAGE))
    store.step_started("r1", "unmeasured", 2.0)
    store.step_finished("r1", ExecutionResult(step_name="unmeasured", success=True))
    store.finish_run("r1", ExecutionStatus.SUCCESS)
    train, unmeasured = store.get_run("r1").steps
    assert train.usage == _USAGE
    assert train.summary()["usage"] == _USAGE.to_dict()
    assert unmeasured.usage is None and unmeasured.summary()["usage"] is None


def test_an_old_step_runs_table_gains_the_usage_column_and_keeps_its_rows(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE runs (run_id TEXT PRIMARY KEY, pipeline TEXT NOT NULL,"
            " backend TEXT NOT NULL, status TEXT NOT NULL, started_at REAL NOT NULL,"
            " finished_at REAL, params TEXT NOT NULL DEFAULT '{}', error TEXT,"
            " project TEXT NOT NULL DEFAULT 'default', resumed_from TEXT, pipeline_ref TEXT)"
        )
        old.execute(
            "CREATE TABLE step_runs (run_id TEXT NOT NULL, step TEXT NOT NULL,"
            " status TEXT NOT NULL, started_at REAL, finished_at REAL, duration REAL,"
            " retries INTEGER NOT NULL DEFAULT 0, cached INTEGER NOT NULL DEFAULT 0,"
            " skipped INTEGER NOT NULL DEFAULT 0, error TEXT, traceback TEXT,"
            " outputs TEXT NOT NULL DEFAULT '{}', exit_code INTEGER, cache_key TEXT,"
            " PRIMARY KEY (run_id, step))"
        )
        old.execute(
            "INSERT INTO runs (run_id, pipeline, backend, status, started_at)"
            " VALUES ('r1', 'demo', 'local', 'success', 1.0)"
        )
        old.execute(
            "INSERT INTO step_runs (run_id, step, status, started_at)"
            " VALUES ('r1', 'load', 'success', 1.0)"
        )
    database = Database(path)
    columns = {row[1] for row in database.query("PRAGMA table_info(step_runs)")}
    assert "usage" in columns
    [step] = RunStore(database).get_steps("r1")
    assert step.step == "load" and step.usage is None
    database.close()


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"source": 'a "quoted" source'},
        {"wall_seconds": float("inf")},
        {"oom_killed": True, "gpu_peak_memory_bytes": 2**33},
        {"cpu_user_seconds": 0.0016060000000000007},
    ],
)
def test_to_json_encodes_what_to_dict_holds_to_the_microsecond(changes):
    usage = dataclasses.replace(_USAGE, **changes)
    encoded = json.loads(usage.to_json())
    expected = json.loads(json.dumps(usage.to_dict()))
    assert encoded.keys() == expected.keys()
    for key, value in expected.items():
        if isinstance(value, float):
            assert encoded[key] == pytest.approx(value, abs=1e-6), key
        else:
            assert encoded[key] == value, key
