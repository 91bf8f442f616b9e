"""The ``flowyml`` command run as a user runs it, for the fault suites of every backend."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any


class FlowymlCli:
    """``python -m flowyml`` in a project folder (default: the working directory).

    Each process starts in a session of its own, so a signal reaches that process only,
    as ``kill PID`` does. :meth:`stop_all` kills what a failed test left running.
    """

    def __init__(self, project: Path | None = None) -> None:
        self.project = project
        self.started: list[subprocess.Popen[str]] = []

    def start(self, *args: str) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "flowyml", *args],
            cwd=self.project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
        )
        self.started.append(process)
        return process

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        process = self.start(*args)
        out, err = process.communicate(timeout=timeout)
        return subprocess.CompletedProcess(process.args, process.returncode, out, err)

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def only_run(project: Path | None = None) -> Any:
    """The project's one run, with its steps, as a fresh reader of the run store sees it."""
    from flowyml.project.folder import forget_projects, open_project

    forget_projects()
    store = open_project(project).run_store
    runs = store.list_runs()
    assert len(runs) == 1, [r.run_id for r in runs]
    return store.get_run(runs[0].run_id)
