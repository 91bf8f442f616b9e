"""What a running step prints reaches the run store while it runs, on the in-process and
subprocess backends (flowyml/execution/log_capture.py, flowyml/storage/run_logs.py), and
once the run ended only the final output is left."""

from __future__ import annotations

import threading
import time

import pytest
from sample_steps import wait_for_release_printing

from flowyml import Pipeline, step
from flowyml.project.folder import open_project
from flowyml.storage.database import Database
from flowyml.storage.run_store import RunStore


def _wait_for(condition, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())


def _run_in_thread(pipeline: Pipeline, backend: str, run_id: str, **kwargs) -> threading.Thread:
    thread = threading.Thread(
        target=pipeline.run,
        kwargs={"backend": backend, "run_id": run_id, "echo_logs": False, **kwargs},
        daemon=True,
    )
    thread.start()
    return thread


@pytest.mark.parametrize("backend", ["local", "subprocess"])
def test_a_running_steps_lines_are_in_the_run_store_before_it_ends(project, backend):
    release = project / "release"
    pipeline = Pipeline("live", steps=[wait_for_release_printing])
    thread = _run_in_thread(pipeline, backend, f"live-{backend}", context={"release": str(release)})
    reader = RunStore(Database(open_project(project).home / "flowyml.db"))

    def lines() -> list[str]:
        try:
            return [t for _, _, t in reader.get_logs(f"live-{backend}")]
        except Exception:  # the run is not recorded yet
            return []

    try:
        assert _wait_for(lambda: "".join(lines()) == "first line\nsecond line\n"), lines()
        assert thread.is_alive()  # the step still waits: the lines came while it ran
    finally:
        release.write_text("go")
        thread.join(60)
    assert not thread.is_alive()
    final = reader.get_logs(f"live-{backend}")
    assert "".join(t for _, _, t in final).count("first line") == 1
    assert "last line" in "".join(t for _, _, t in final)
    live_rows = reader.db.query("SELECT COUNT(*) FROM logs WHERE live=1")[0][0]
    assert live_rows == 0


def test_a_step_without_output_writes_no_log_rows(project):
    @step(outputs=["n"])
    def quiet():
        return 1

    Pipeline("quiet", steps=[quiet]).run("local", run_id="quiet-run")
    db = Database(open_project(project).home / "flowyml.db")
    assert db.query("SELECT COUNT(*) FROM logs") == [(0,)]
