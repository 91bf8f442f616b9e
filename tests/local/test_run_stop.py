"""`flowyml runs stop` stops a run driven by another process (flowyml/execution/run_stop.py):
the owner records it cancelled, its step processes are gone, and its output so far is kept."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from flowyml import ExecutionStatus
from flowyml.project.folder import open_project

_SLOW = """
import os, sys, time
from pathlib import Path
from flowyml import Pipeline, step

@step(outputs=["never"])
def wait():
    print("waiting", flush=True)
    Path(MARKER).write_text(str(os.getpid()))
    time.sleep(120)

if __name__ == "__main__":
    Pipeline("slow", steps=[wait]).run(sys.argv[1], run_id="slow-run", echo_logs=False)
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
        time.sleep(0.05)
    return bool(condition())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith(("Z", "X")))


@pytest.mark.parametrize("backend", ["local", "subprocess"])
def test_runs_stop_cancels_a_run_of_another_process_and_leaves_nothing_running(project, backend):
    marker = project / "pid.txt"
    (project / "slow.py").write_text(f"MARKER = {str(marker)!r}\n" + textwrap.dedent(_SLOW))
    with subprocess.Popen(
        [sys.executable, "slow.py", backend],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as owner:
        try:
            _wait_for(lambda: marker.exists() or owner.poll() is not None)
            assert marker.exists(), f"the step never started: {owner.communicate()}"
            step_pid = int(marker.read_text())
            stopped = _flowyml("runs", "stop", "slow-run", cwd=project)
            assert stopped.returncode == 0, stopped.stderr
            assert "interrupted the process driving run 'slow-run'" in stopped.stdout
            owner.wait(timeout=60)
        finally:
            owner.kill()
    assert _wait_for(lambda: not _alive(step_pid), 10), "the step's process outlived the stop"
    record = open_project().run_store.get_run("slow-run")
    assert record.status is ExecutionStatus.CANCELLED
    assert record.steps[0].status is ExecutionStatus.CANCELLED
    logs = open_project().run_store.get_logs("slow-run")
    assert "waiting" in "".join(text for _, _, text in logs)


def test_stopping_an_ended_or_unknown_run_says_why(project):
    subprocess.run(
        [sys.executable, "-c", "from sample_steps import chain; chain.run('local', run_id='done')"],
        cwd=project,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent)},
        check=True,
        capture_output=True,
    )
    ended = _flowyml("runs", "stop", "done", cwd=project)
    assert ended.returncode != 0
    assert "run 'done' already ended: it is success" in ended.stderr
    unknown = _flowyml("runs", "stop", "nope", cwd=project)
    assert unknown.returncode != 0
    assert "run 'nope' does not exist" in unknown.stderr
