"""Runs whose process died are recorded ``crashed`` (flowyml/run_store.py, run_owner.py).

Each test runs a pipeline on the ``local`` backend in a child process that dies, then reads
the run store from this process and through the ``flowyml runs`` commands.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

from flowyml import ExecutionStatus
from flowyml.project.folder import open_project

_EXIT_IN_STEP = """
import os
from flowyml import Pipeline, step

@step(outputs=["data"])
def load():
    return [1, 2, 3]

@step(inputs=["data"], outputs=["total"])
def total(data):
    os._exit(1)

Pipeline("doomed", steps=[load, total]).run("local", run_id="doomed-run")
"""

_SLEEP_IN_STEP = """
import sys, time
from pathlib import Path
from flowyml import Pipeline, step

@step(outputs=["never"])
def wait():
    Path(sys.argv[1]).write_text("started")
    time.sleep(120)

Pipeline("sleepy", steps=[wait]).run("local", run_id="sleepy-run")
"""


def _flowyml(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowyml", *args], cwd=cwd, capture_output=True, text=True
    )


def _wait_for(condition, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_a_step_calling_os_exit_leaves_a_crashed_run_and_step(project):
    child = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_EXIT_IN_STEP)],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 1, child.stderr
    record = open_project().run_store.get_run("doomed-run")
    assert record.status is ExecutionStatus.CRASHED
    assert record.error is not None and "is gone; the run crashed or was killed" in record.error
    steps = {s.step: s.status for s in record.steps}
    assert steps == {"load": ExecutionStatus.SUCCESS, "total": ExecutionStatus.CRASHED}


def test_a_run_killed_while_a_step_sleeps_is_crashed_at_the_next_listing(project):
    marker = project / "started.txt"
    with subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(_SLEEP_IN_STEP), str(marker)], cwd=project
    ) as child:
        try:
            assert _wait_for(marker.exists), "the step never started"
            store = open_project().run_store
            [live] = store.list_runs()
            assert live.status is ExecutionStatus.RUNNING  # its owner lives
        finally:
            child.kill()  # SIGKILL: nothing in the child gets to record anything
    [record] = store.list_runs()
    assert (record.run_id, record.status) == ("sleepy-run", ExecutionStatus.CRASHED)
    assert f"pid {child.pid} on host" in (record.error or "")
    assert store.get_run("sleepy-run").steps[0].status is ExecutionStatus.CRASHED


def test_runs_list_and_show_report_a_crashed_run_with_its_reason(project):
    subprocess.run([sys.executable, "-c", textwrap.dedent(_EXIT_IN_STEP)], cwd=project, timeout=120)
    listed = _flowyml("runs", "list", cwd=project)
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if line.startswith("doomed-run "))
    assert " crashed " in row
    assert "doomed-run crashed: the process that owned this run (pid" in listed.stdout
    shown = _flowyml("runs", "show", "doomed-run", cwd=project)
    assert shown.returncode == 0, shown.stderr
    assert "status     crashed" in shown.stdout
    assert "error      the process that owned this run (pid" in shown.stdout
    assert "total crashed: the process that owned this run" in shown.stdout
