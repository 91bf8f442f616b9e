"""Step output in the run store while steps run and after (flowyml/storage/run_logs.py),
run shapes and step counts (flowyml/storage/run_store.py)."""

from __future__ import annotations

import sqlite3

import pytest

from flowyml import ExecutionResult, ExecutionStatus
from flowyml.definition.dag import DAG
from flowyml.definition.grouping import group_steps, pipeline_graph
from flowyml.definition.steps import step
from flowyml.storage.database import Database
from flowyml.storage.run_store import RunStore


@pytest.fixture
def db(tmp_path):
    database = Database(tmp_path / "flowyml.db")
    yield database
    database.close()


def _other_reader(db: Database) -> RunStore:
    """A store on its own connection, as another process (a page, `flowyml runs logs`) has."""
    return RunStore(Database(db.path))


def _graph() -> str:
    @step(outputs=["raw"], execution_group="prep")
    def load():
        return 1

    @step(inputs=["raw"], outputs=["clean"], execution_group="prep")
    def clean(raw):
        return raw

    @step(inputs=["clean", "n"], outputs=["model"], resources={"cpu": 2, "memory": "1Gi"})
    def train(clean, n):
        return clean

    dag = DAG([load, clean, train], external_inputs=["n"])
    return pipeline_graph(dag, group_steps(dag))


def test_live_output_is_readable_by_another_connection_before_the_step_ends(db):
    store = RunStore(db)
    store.create_run("r1", "demo", "local", {})
    store.step_started("r1", "train", 1.0)
    store.append_live("r1", "train", "epoch 1\n")
    store.append_live("r1", "train", "epoch 2\n")
    db.flush()
    reader = _other_reader(db)
    assert [text for _, _, text in reader.get_logs("r1")] == ["epoch 1\n", "epoch 2\n"]
    rows = reader.log_rows("r1")
    assert [(r.step, r.text, r.live) for r in rows] == [
        ("train", "epoch 1\n", True),
        ("train", "epoch 2\n", True),
    ]
    assert reader.log_rows("r1", after=rows[0].id) == rows[1:]


def test_a_finished_steps_final_output_replaces_its_live_rows(db):
    store = RunStore(db)
    store.create_run("r1", "demo", "local", {})
    store.append_live("r1", "train", "epoch 1\n")
    store.append_live("r1", "other", "still going\n")
    store.step_finished("r1", ExecutionResult(step_name="train", success=True, logs="epoch 1\n"))
    db.flush()
    assert [(s, t) for s, _, t in store.get_logs("r1", "train")] == [("train", "epoch 1\n")]
    shown = [(s, t) for s, _, t in store.get_logs("r1")]
    assert sorted(shown) == [("other", "still going\n"), ("train", "epoch 1\n")]
    assert [r.live for r in store.log_rows("r1")] == [True, True, False]  # a page sees all


def test_finishing_the_run_drops_live_rows_that_final_ones_cover_steps_and_groups(db):
    store = RunStore(db)
    store.create_run("r1", "demo", "subprocess", {}, graph=_graph())
    store.append_live("r1", "prep", "loading\n")  # a group's shared process
    store.append_live("r1", "train", "epoch 1\n")
    for name in ("load", "clean", "train"):
        store.step_finished("r1", ExecutionResult(step_name=name, success=True, logs=f"{name}\n"))
    store.finish_run("r1", ExecutionStatus.SUCCESS)
    db.flush()
    live = db.query("SELECT COUNT(*) FROM logs WHERE live=1")[0][0]
    assert live == 0
    assert sorted(text for _, _, text in store.get_logs("r1")) == ["clean\n", "load\n", "train\n"]


def test_live_rows_of_a_group_with_an_unfinished_step_are_kept(db):
    store = RunStore(db)
    store.create_run("r1", "demo", "subprocess", {}, graph=_graph())
    store.append_live("r1", "prep", "loading\n")
    store.step_finished("r1", ExecutionResult(step_name="load", success=True, logs="load\n"))
    store.finish_run("r1", ExecutionStatus.FAILED, "clean never ended")
    db.flush()
    assert ("prep", "loading\n") in [(s, t) for s, _, t in store.get_logs("r1")]


def test_a_run_whose_owner_died_keeps_what_its_steps_printed(db):
    store = RunStore(db)
    store.create_run("r1", "demo", "local", {})
    store.append_live("r1", "train", "last words\n")
    db.flush()
    # No finish_run: the owning process died. Its live rows are the only record.
    assert [t for _, _, t in _other_reader(db).get_logs("r1", "train")] == ["last words\n"]


def test_the_graph_names_groups_producers_and_pipeline_inputs(db):
    store = RunStore(db)
    store.create_run("r1", "demo", "local", {}, graph=_graph())
    graph = store.get_graph("r1")
    assert graph is not None
    steps = {s["name"]: s for s in graph["steps"]}
    assert [s["name"] for s in graph["steps"]] == ["load", "clean", "train"]
    assert steps["load"]["group"] == steps["clean"]["group"] == "prep"
    assert steps["train"]["group"] is None
    assert steps["train"]["inputs"] == {"clean": "clean", "n": None}
    assert steps["train"]["upstream"] == ["clean"]
    assert steps["clean"]["outputs"] == ["clean"]
    assert steps["clean"]["resources"] == {}
    assert steps["train"]["resources"]["cpu"] == 2
    assert steps["train"]["resources"]["memory"] in ("1Gi", 1024**3)
    store.create_run("r2", "demo", "local", {})
    assert store.get_graph("r2") is None


def test_step_counts_and_status_filter(db):
    store = RunStore(db)
    store.create_run("r1", "demo", "local", {})
    store.step_finished("r1", ExecutionResult(step_name="a", success=True))
    store.step_finished("r1", ExecutionResult(step_name="b", success=True, cached=True))
    store.step_finished("r1", ExecutionResult(step_name="c", success=False, error="x"))
    store.step_started("r1", "d", 2.0)
    store.finish_run("r1", ExecutionStatus.FAILED, "c failed")
    store.create_run("r2", "other", "local", {})
    store.finish_run("r2", ExecutionStatus.SUCCESS)
    db.flush()
    counts = store.step_counts(["r1", "r2"])
    assert counts["r2"] == {"total": 0}
    r1 = counts["r1"]
    assert r1["total"] == 4 and r1["failed"] == 1 and r1["running"] == 1 and r1["cached"] == 1
    assert r1["succeeded"] == 2
    assert [r.run_id for r in store.list_runs(status="failed")] == ["r1"]
    assert [r.run_id for r in store.list_runs(pipeline="other", status="success")] == ["r2"]
    assert store.list_runs(pipeline="demo", status="success") == []


def test_an_old_database_gains_the_live_column(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE logs (run_id TEXT NOT NULL, step TEXT NOT NULL, ts REAL NOT NULL,"
        " text TEXT NOT NULL)"
    )
    conn.execute("INSERT INTO logs VALUES ('r0', 's', 1.0, 'old line\n')")
    conn.commit()
    conn.close()
    db = Database(path)
    try:
        assert db.query("SELECT text, live FROM logs") == [("old line\n", 0)]
    finally:
        db.close()


def test_a_pipeline_run_again_stores_its_graph_once(db):
    store = RunStore(db)
    graph = _graph()
    store.create_run("r1", "demo", "local", {}, graph=graph)
    store.create_run("r2", "demo", "local", {}, graph=graph)
    RunStore(db).create_run("r3", "demo", "local", {}, graph=graph)  # another process's store
    assert db.query("SELECT COUNT(*) FROM pipeline_graphs") == [(1,)]
    assert store.get_graph("r1") == store.get_graph("r3") is not None
