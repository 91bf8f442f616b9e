"""The SQLite run store (flowyml/run_store.py) and cache index (flowyml/cache.py)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowyml import ExecutionResult, ExecutionStatus, FlowyMLError, RunNotFoundError
from flowyml.storage import run_owner
from flowyml.storage.cache import CacheStore
from flowyml.storage.database import Database
from flowyml.storage.run_owner import HEARTBEAT_TIMEOUT, RunOwner
from flowyml.storage.run_store import RunStore


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


# -- owners, heartbeats and crashed runs ----------------------------------------------


def _committed_rows(db, sql):
    """What another connection sees: only committed rows."""
    with sqlite3.connect(db.path) as other:
        return other.execute(sql).fetchall()


def _wait_for(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


@pytest.fixture
def dead_pid() -> int:
    """The PID of a child that exited and was reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _owned_by(db, run_id, pid):
    db.commit_now([("UPDATE runs SET owner_pid=? WHERE run_id=?", (pid, run_id))])


def test_a_new_run_and_its_first_step_start_are_committed_before_returning(db):
    store = RunStore(db)
    store.create_run("r1", "demo", "local", {})
    assert _committed_rows(db, "SELECT run_id, status FROM runs") == [("r1", "running")]
    store.step_started("r1", "load", 1.0)
    assert _committed_rows(db, "SELECT step, status FROM step_runs") == [("load", "running")]


def test_a_new_run_records_this_process_as_its_owner(db):
    RunStore(db).create_run("r1", "demo", "local", {})
    owner = RunOwner.current()
    assert db.query("SELECT owner_host, owner_pid, owner_started FROM runs") == [
        (owner.host, owner.pid, owner.started)
    ]


def test_a_second_run_with_the_same_id_is_a_clear_error(db):
    store = RunStore(db)
    store.create_run("r1", "demo", "local", {})
    with pytest.raises(FlowyMLError, match="run 'r1' already exists"):
        store.create_run("r1", "demo", "local", {})


def test_a_run_of_this_process_stays_running_after_reconcile(db):
    store = RunStore(db)
    store.create_run("r1", "demo", "local", {})
    store.step_started("r1", "load", time.time())
    assert store.reconcile_crashed() == []
    record = store.get_run("r1")
    assert record.status is ExecutionStatus.RUNNING and record.error is None
    assert record.steps[0].status is ExecutionStatus.RUNNING


def test_a_run_whose_owner_exited_is_crashed_with_its_unfinished_steps(db, dead_pid):
    store = RunStore(db)
    store.create_run("r1", "demo", "local", {})
    store.step_started("r1", "load", time.time())
    store.step_finished("r1", ExecutionResult(step_name="load", success=True))
    store.step_started("r1", "train", time.time())
    db.write(
        "INSERT INTO step_runs (run_id, step, status) VALUES (?,?,?)", ("r1", "report", "pending")
    )
    _owned_by(db, "r1", dead_pid)
    [crashed] = store.reconcile_crashed()
    assert (crashed.run_id, crashed.backend) == ("r1", "local")
    assert f"(pid {dead_pid} on host" in crashed.error and "is gone" in crashed.error
    assert store.reconcile_crashed() == []  # reported once
    record = store.get_run("r1")
    assert record.status is ExecutionStatus.CRASHED and record.error == crashed.error
    assert record.status.is_finished and record.status.is_failed
    assert record.finished_at is not None and record.finished_at >= record.started_at
    statuses = {s.step: (s.status, s.error) for s in record.steps}
    assert statuses["load"] == (ExecutionStatus.SUCCESS, None)
    assert statuses["train"] == (ExecutionStatus.CRASHED, crashed.error)
    assert statuses["report"] == (ExecutionStatus.CRASHED, crashed.error)


def test_readers_mark_runs_whose_owner_exited(db, dead_pid):
    store = RunStore(db)
    store.create_run("r1", "demo", "local", {})
    store.finish_run("r1", ExecutionStatus.SUCCESS)  # no longer refreshed by this process
    db.commit_now([("UPDATE runs SET status='running' WHERE run_id='r1'", ())])
    _owned_by(db, "r1", dead_pid)
    assert store.list_runs()[0].status is ExecutionStatus.CRASHED


def test_a_run_owned_elsewhere_is_crashed_only_once_its_heartbeat_is_stale(db):
    store = RunStore(db)
    for run_id in ("fresh", "stale"):
        store.create_run(run_id, "demo", "local", {})
        store.finish_run(run_id, ExecutionStatus.SUCCESS)
    now = time.time()
    db.commit_now(
        [
            (
                "UPDATE runs SET status='running', owner_host='elsewhere', owner_machine=NULL,"
                " heartbeat_at=? WHERE run_id=?",
                (beat, run_id),
            )
            for run_id, beat in (("fresh", now), ("stale", now - HEARTBEAT_TIMEOUT - 10))
        ]
    )
    assert [c.run_id for c in store.reconcile_crashed()] == ["stale"]
    assert store.get_run("fresh").status is ExecutionStatus.RUNNING
    assert "has sent no heartbeat" in (store.get_run("stale").error or "")


def test_a_running_run_recorded_without_an_owner_is_left_alone(db):
    db.commit_now(
        [
            (
                "INSERT INTO runs (run_id, pipeline, backend, status, started_at)"
                " VALUES ('old', 'demo', 'local', 'running', 1.0)",
                (),
            )
        ]
    )
    store = RunStore(db)
    assert store.reconcile_crashed() == []
    assert store.get_run("old").status is ExecutionStatus.RUNNING


def test_the_heartbeat_advances_while_a_run_runs_and_stops_when_it_finishes(db, monkeypatch):
    monkeypatch.setattr(run_owner, "HEARTBEAT_INTERVAL", 0.01)
    store = RunStore(db)

    def beat(run_id):
        return _committed_rows(db, f"SELECT heartbeat_at FROM runs WHERE run_id='{run_id}'")[0][0]

    store.create_run("first", "demo", "local", {})
    created = beat("first")
    assert _wait_for(lambda: beat("first") > created)
    store.finish_run("first", ExecutionStatus.SUCCESS)
    last = beat("first")
    store.create_run("second", "demo", "local", {})
    created = beat("second")
    assert _wait_for(lambda: beat("second") > created)  # the heartbeat went on...
    assert beat("first") == last  # ...without the finished run


def test_each_run_marked_crashed_is_handed_to_on_crashed_once(db, dead_pid):
    seen = []
    store = RunStore(db, on_crashed=seen.append)
    store.create_run("r1", "demo", "docker", {})
    _owned_by(db, "r1", dead_pid)
    assert store.get_run("r1").status is ExecutionStatus.CRASHED
    store.list_runs()
    assert [(run.run_id, run.backend) for run in seen] == [("r1", "docker")]


def test_a_failing_on_crashed_does_not_fail_the_read(db, dead_pid, caplog):
    def broken(run):
        raise RuntimeError("engine unreachable")

    store = RunStore(db, on_crashed=broken)
    store.create_run("r1", "demo", "docker", {})
    _owned_by(db, "r1", dead_pid)
    assert store.get_run("r1").status is ExecutionStatus.CRASHED
    assert "clean-up of crashed run r1 failed: engine unreachable" in caplog.text


def _step_rows(db):
    return _committed_rows(db, "SELECT step, status, finished_at FROM step_runs ORDER BY step")


def test_a_step_that_ends_before_its_start_is_committed_is_written_once(db, monkeypatch):
    store = RunStore(db)
    store.create_run("r1", "demo", "local", {})
    monkeypatch.setattr(run_owner.StepCommits, "due", lambda self: False)
    written = []
    execute = db._execute_runs
    monkeypatch.setattr(db, "_execute_runs", lambda batch: (written.extend(batch), execute(batch)))
    store.step_started("r1", "load", 1.0)
    store.step_finished("r1", _result("load"))
    db.flush()
    assert [row[1][1] for row in written if "step_runs" in row[0]] == ["load"]
    assert _step_rows(db) == [("load", "success", 2.0)]


def test_a_step_whose_start_was_committed_still_gets_its_end(db):
    store = RunStore(db)
    store.create_run("r1", "demo", "local", {})
    store.step_started("r1", "load", 1.0)
    db.flush()
    assert _step_rows(db) == [("load", "running", None)]
    store.step_finished("r1", _result("load"))
    db.flush()
    assert _step_rows(db) == [("load", "success", 2.0)]


def test_the_end_of_a_step_whose_start_was_committed_is_committed_at_once(db, monkeypatch):
    # Else a crash in the next step would leave this one "running" in the record.
    store = RunStore(db)
    store.create_run("r1", "demo", "local", {})
    monkeypatch.setattr(run_owner.StepCommits, "due", lambda self: False)
    store.step_started("r1", "load", 1.0)
    store.step_started("r1", "quick", 1.0)
    db.flush()  # takes both start rows
    store.step_finished("r1", _result("load"))
    assert ("load", "success", 2.0) in _step_rows(db)  # no flush of ours: committed at once
    commits = db.commits
    store.step_finished("r1", _result("reused"))  # never started here: nothing to commit
    assert db.commits == commits


def _result(name: str) -> ExecutionResult:
    from datetime import UTC, datetime

    return ExecutionResult(
        step_name=name,
        success=True,
        duration_seconds=1.0,
        started_at=datetime.fromtimestamp(1.0, UTC),
        finished_at=datetime.fromtimestamp(2.0, UTC),
    )


_REF_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=20)


@given(
    st.dictionaries(
        _REF_TEXT,
        st.fixed_dictionaries(
            {
                "uri": st.one_of(_REF_TEXT, st.none()),
                "digest": st.sampled_from(["", "abc"]),
                "size": st.sampled_from([0, 5, False]),
            }
        ),
        max_size=3,
    )
)
def test_recorded_outputs_are_exactly_what_json_dumps_writes(refs):
    from flowyml.storage.step_rows import outputs_json

    assert outputs_json(refs) == json.dumps(refs)


@given(st.dictionaries(_REF_TEXT, _REF_TEXT, max_size=3))
def test_recorded_output_uris_are_exactly_what_json_dumps_writes(outputs):
    from flowyml.storage.step_rows import uris_json

    refs = {name: {"uri": uri, "digest": "", "size": 0} for name, uri in outputs.items()}
    assert uris_json(outputs) == json.dumps(refs)
