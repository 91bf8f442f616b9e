"""The ``subprocess`` backend: each step or group in a fresh Python process.

Isolation from crashes, leaks and global state: the child runs ``flowyml step-runner``
on a task written to the artifact store, and the result manifest comes back the same
way. A hard timeout kills the child's whole process group; a segfault, ``os._exit`` or a
kill by signal becomes a failed result naming the exit code or signal.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from typing import Any

from pydantic import Field

from flowyml.artifact_store import ArtifactStore
from flowyml.executor import ExecutorConfig
from flowyml.task_executor import LaunchOutcome, TaskExecutor

__all__ = ["SubprocessExecutor", "SubprocessExecutorConfig"]

_KILL_GRACE = 2.0


class SubprocessExecutorConfig(ExecutorConfig):
    """Settings of the ``subprocess`` backend.

    Attributes:
        max_workers: how many child processes may run at once.
        python: the interpreter that runs the children.
        env: extra environment variables for the children.
    """

    max_workers: int = Field(default_factory=lambda: os.cpu_count() or 2, ge=1, le=256)
    python: str = sys.executable
    env: dict[str, str] = Field(default_factory=dict)


class SubprocessExecutor(TaskExecutor):
    """Runs each step (or group) in a new Python process through the step runner."""

    name = "subprocess"
    config_model = SubprocessExecutorConfig

    def __init__(
        self,
        max_workers: int | None = None,
        python: str = sys.executable,
        env: dict[str, str] | None = None,
    ) -> None:
        self.max_workers = max_workers or os.cpu_count() or 2
        self.python = python
        self.env = dict(env or {})
        self._live: set[subprocess.Popen[bytes]] = set()
        self._live_lock = threading.Lock()

    def cancel(self) -> None:
        """Kill the process group of every child running now."""
        with self._live_lock:
            live = list(self._live)
        for process in live:
            _kill_group(process)

    def _child_env(self) -> dict[str, str]:
        return {
            **os.environ,
            "PYTHONPATH": _import_path(),
            **self.env,
            "PYTHONUNBUFFERED": "1",
        }

    def launch(
        self,
        args: list[str],
        *,
        run_id: str,
        group: str,
        timeout: float | None,
        artifact_store: ArtifactStore,
        resources: Any,
    ) -> LaunchOutcome:
        """Run the step runner in a child process in its own process group."""
        process = subprocess.Popen(
            [self.python, "-m", "flowyml", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=self._child_env(),
            start_new_session=True,  # its own process group: a timeout kills every descendant
        )
        with self._live_lock:
            self._live.add(process)
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            output, _ = process.communicate()
            return LaunchOutcome(process.returncode, output.decode(errors="replace"), True)
        except BaseException:
            _kill_group(process)
            raise
        finally:
            with self._live_lock:
                self._live.discard(process)
        return LaunchOutcome(process.returncode, output.decode(errors="replace"))


def _import_path() -> str:
    """This process's import path, so the child can import what the parent imported."""
    entries = [p for p in sys.path if p]
    inherited = os.environ.get("PYTHONPATH")
    return os.pathsep.join([*entries, inherited] if inherited else entries)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the child's process group, then SIGKILL what is left after a grace period."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    with contextlib.suppress(subprocess.TimeoutExpired):  # still alive: SIGKILL below
        process.wait(_KILL_GRACE)
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        return  # the whole group is gone already
