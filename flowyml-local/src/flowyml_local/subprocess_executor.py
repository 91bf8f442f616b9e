"""The ``subprocess`` backend: each step or group in a fresh Python process.

Isolation from crashes, leaks and global state: the child runs ``flowyml step-runner``
on a task written to the artifact store, and the result manifest comes back the same
way. A hard timeout kills the child's whole process group; a segfault, ``os._exit`` or a
kill by signal becomes a failed result naming the exit code or signal.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from typing import Any, Literal

from pydantic import Field, field_validator

from flowyml.backend import ArtifactStore, ExecutorConfig, LaunchOutcome, TaskExecutor
from flowyml_local.fork_server import ForkServer

__all__ = ["SubprocessExecutor", "SubprocessExecutorConfig"]

_KILL_GRACE = 2.0


class SubprocessExecutorConfig(ExecutorConfig):
    """Settings of the ``subprocess`` backend.

    Attributes:
        max_workers: how many child processes may run at once.
        python: the interpreter that runs the children.
        env: extra environment variables for the children.
        start_method: ``fork-server`` forks each child from a clean interpreter that has
            imported flowyml once (milliseconds per step); ``spawn`` starts a new
            interpreter for every child (a Python start-up per step).
    """

    max_workers: int = Field(default_factory=lambda: os.cpu_count() or 2, ge=1, le=256)
    python: str = sys.executable
    env: dict[str, str] = Field(default_factory=dict)
    start_method: Literal["fork-server", "spawn"] = "fork-server"

    @field_validator("python")
    @classmethod
    def _python_runs(cls, value: str) -> str:
        # Checked when the stack is loaded, not when the first step fails to start.
        found = shutil.which(value)
        if found is None:
            where = "is not an executable file" if os.sep in value else "is not on PATH"
            raise ValueError(f"the interpreter {value!r} {where}")
        return value


class SubprocessExecutor(TaskExecutor):
    """Runs each step (or group) in a new Python process through the step runner."""

    name = "subprocess"
    config_model = SubprocessExecutorConfig

    def __init__(
        self,
        max_workers: int | None = None,
        python: str = sys.executable,
        env: dict[str, str] | None = None,
        start_method: str = "fork-server",
    ) -> None:
        if start_method not in ("fork-server", "spawn"):
            raise ValueError(f"start_method must be 'fork-server' or 'spawn', not {start_method!r}")
        self.max_workers = max_workers or os.cpu_count() or 2
        self.python = python
        self.env = dict(env or {})
        self.start_method = start_method
        self._live: set[int] = set()  # process group ids of running children
        self._live_lock = threading.Lock()

    def cancel(self) -> None:
        """Kill the process group of every child running now."""
        with self._live_lock:
            live = list(self._live)
        for pgid in live:
            _signal_group(pgid, signal.SIGKILL)

    def _server(self) -> ForkServer:
        return ForkServer.shared(self.python, self._child_env())

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
        if self.start_method == "fork-server":
            return self._launch_forked(args, timeout)
        process = subprocess.Popen(
            [self.python, "-m", "flowyml", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=self._child_env(),
            start_new_session=True,  # its own process group: a timeout kills every descendant
        )
        with self._live_lock:
            self._live.add(process.pid)
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
                self._live.discard(process.pid)
        return LaunchOutcome(process.returncode, output.decode(errors="replace"))

    def _launch_forked(self, args: list[str], timeout: float | None) -> LaunchOutcome:
        handle, log_path = tempfile.mkstemp(prefix="flowyml-step-", suffix=".log")
        os.close(handle)
        try:
            env = {**self.env, "PYTHONUNBUFFERED": "1"}
            pid, status = self._server().launch(args, env, log_path, list(sys.path))
            with self._live_lock:
                self._live.add(pid)
            timed_out = False
            try:
                try:
                    wait_status = status.result(timeout=timeout)
                except concurrent.futures.TimeoutError:
                    timed_out = True
                    _signal_group(pid, signal.SIGTERM)
                    try:
                        wait_status = status.result(timeout=_KILL_GRACE)
                    except concurrent.futures.TimeoutError:
                        _signal_group(pid, signal.SIGKILL)
                        wait_status = status.result(timeout=30)
            except BaseException:
                _signal_group(pid, signal.SIGKILL)
                raise
            finally:
                with self._live_lock:
                    self._live.discard(pid)
            with open(log_path, encoding="utf-8", errors="replace") as log:
                logs = log.read()
            return LaunchOutcome(os.waitstatus_to_exitcode(wait_status), logs, timed_out)
        finally:
            os.unlink(log_path)


def _import_path() -> str:
    """This process's import path, so the child can import what the parent imported."""
    entries = [p for p in sys.path if p]
    inherited = os.environ.get("PYTHONPATH")
    return os.pathsep.join([*entries, inherited] if inherited else entries)


def _signal_group(pgid: int, signum: int) -> None:
    """Signal a child's process group (or the child alone, if it has no group yet)."""
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pgid, signum)


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
