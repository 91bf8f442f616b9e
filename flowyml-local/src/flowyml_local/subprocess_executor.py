"""The ``subprocess`` backend: each step or group in a fresh Python process.

Isolation from crashes, leaks and global state: the child runs ``flowyml step-runner``
on a task written to the artifact store, and the result manifest comes back the same
way. A hard timeout kills the child's whole process group; a segfault, ``os._exit`` or a
kill by signal becomes a failed result naming the exit code or signal. With
``echo_logs`` the child's output is passed on line by line while it runs (to the run
listener's ``step_output`` when ``Pipeline.run`` has one, else to stdout).
"""

from __future__ import annotations

import codecs
import concurrent.futures
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator

from flowyml.backend import (
    ArtifactStore,
    Context,
    ExecutionResult,
    ExecutorConfig,
    LaunchOutcome,
    TaskExecutor,
    live_output,
)
from flowyml_local import server_pool
from flowyml_local.child_wait import wait_child
from flowyml_local.module_preload import module_targets

if TYPE_CHECKING:
    from flowyml_local.fork_server import ChildExit, ForkServer

__all__ = ["SubprocessExecutor", "SubprocessExecutorConfig"]

_KILL_GRACE = 2.0
_FOLLOW_POLL = 0.05  # seconds between reads of a running child's log file


class SubprocessExecutorConfig(ExecutorConfig):
    """Settings of the ``subprocess`` backend.

    Attributes:
        max_workers: how many child processes may run at once.
        python: the interpreter that runs the children.
        env: extra environment variables for the children.
        start_method: ``fork-server`` forks each child from a clean interpreter that has
            imported flowyml and the pipeline's modules once (milliseconds per step,
            whatever the modules import; a new server whenever a file they came from
            changes); ``spawn`` starts a new interpreter for every child (a Python
            start-up and the imports per step).
        echo_logs: also print what the children print, while they run (their output is
            captured either way).
    """

    max_workers: int = Field(default_factory=lambda: os.cpu_count() or 2, ge=1, le=256)
    python: str = sys.executable
    env: dict[str, str] = Field(default_factory=dict)
    start_method: Literal["fork-server", "spawn"] = "fork-server"
    echo_logs: bool = True

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

    #: Where echoed output goes instead of stdout: set by ``Pipeline.run`` when its caller
    #: listens, to a relay whose ``write(name, text)`` passes it to the listener.
    step_output: Any = None

    def __init__(
        self,
        max_workers: int | None = None,
        python: str = sys.executable,
        env: dict[str, str] | None = None,
        start_method: str = "fork-server",
        echo_logs: bool = True,
    ) -> None:
        if start_method not in ("fork-server", "spawn"):
            raise ValueError(f"start_method must be 'fork-server' or 'spawn', not {start_method!r}")
        self.max_workers = max_workers or os.cpu_count() or 2
        self.python = python
        self.env = dict(env or {})
        self.start_method = start_method
        self.echo_logs = echo_logs
        self._live: set[int] = set()  # process group ids of running children
        self._live_lock = threading.Lock()
        # The modules (or files) of the run's steps, which the fork server imports.
        self._targets: tuple[str, ...] = ()

    def cancel(self) -> None:
        """Kill the process group of every child running now."""
        with self._live_lock:
            live = list(self._live)
        for pgid in live:
            _signal_group(pgid, signal.SIGKILL)

    def check_pipeline(self, steps: list[Any], context: Context) -> None:
        """Every step must be importable by a child; notes the modules they come from."""
        super().check_pipeline(steps, context)
        self._note_targets(steps, self.pipeline_ref)

    def run_steps(self, steps: list[Any], *args: Any, **kwargs: Any) -> list[ExecutionResult]:
        """As ``TaskExecutor.run_steps``; also notes modules the run had not named yet."""
        self._note_targets(steps, kwargs.get("pipeline_ref") or self.pipeline_ref)
        return super().run_steps(steps, *args, **kwargs)

    def _note_targets(self, steps: list[Any], pipeline_ref: str | None) -> None:
        references = [pipeline_ref] if pipeline_ref else [s.reference() for s in steps]
        found = module_targets(r for r in references if r)
        with self._live_lock:
            if not set(found) <= set(self._targets):
                self._targets = tuple(sorted({*self._targets, *found}))

    def end_run(self, run_id: str) -> None:
        """Let the fork server this run used go, when nothing else needs it."""
        server_pool.release(run_id)

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
        echo = _both(self._echo(group) if self.echo_logs else None, live_output(run_id, group))
        if self.start_method == "fork-server":
            return self._launch_forked(args, run_id, timeout, echo)
        process = subprocess.Popen(
            [self.python, "-m", "flowyml", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=self._child_env(),
            start_new_session=True,  # its own process group: a timeout kills every descendant
        )
        with self._live_lock:
            self._live.add(process.pid)
        assert process.stdout is not None
        output = _Follower(process.stdout, echo, keep=True)
        timed_out = False
        started = time.perf_counter()
        try:
            try:
                ended = wait_child(process, timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                ended = _kill_group(process) or wait_child(process)
        except BaseException:
            _kill_group(process)
            raise
        finally:
            with self._live_lock:
                self._live.discard(process.pid)
        usage = ended.usage(time.perf_counter() - started)
        return LaunchOutcome(process.returncode or 0, output.finish(), timed_out, usage=usage)

    def _echo(self, group: str) -> Callable[[str], None]:
        """Where the whole lines a child of ``group`` prints go while it runs."""
        relay = self.step_output
        if relay is not None:
            return lambda text: relay.write(group, text)
        return _print

    def _launch_forked(
        self,
        args: list[str],
        run_id: str,
        timeout: float | None,
        echo: Callable[[str], None] | None,
    ) -> LaunchOutcome:
        with self._live_lock:
            targets = self._targets
        path = list(sys.path)
        server = server_pool.acquire(self.python, self._child_env(), targets, path, run_id)
        try:
            started = time.monotonic()
            try:
                server.preload(timeout)
            except concurrent.futures.TimeoutError:
                # Still importing the modules: a fresh process would be too, so the step
                # timed out; the server goes on importing for the steps after it.
                return LaunchOutcome(-signal.SIGKILL, "", timed_out=True)
            left = None if timeout is None else max(timeout - (time.monotonic() - started), 0)
            return self._fork(server, args, targets, path, left, echo)
        finally:
            server_pool.done(server)

    def _fork(
        self,
        server: ForkServer,
        args: list[str],
        targets: tuple[str, ...],
        path: list[str],
        timeout: float | None,
        echo: Callable[[str], None] | None,
    ) -> LaunchOutcome:
        handle, log_path = tempfile.mkstemp(prefix="flowyml-step-", suffix=".log")
        os.close(handle)
        import_error = log_path + ".import-error"
        follower = None
        try:
            if echo is not None:
                # The child writes to this file, not to a pipe of ours: follow it as it grows.
                follower = _Follower(open(log_path, "rb"), echo, keep=False)  # noqa: SIM115
            env = {**self.env, "PYTHONUNBUFFERED": "1"}
            started = time.perf_counter()
            pid, status = server.launch(args, env, log_path, path, targets)
            with self._live_lock:
                self._live.add(pid)
            timed_out = False
            try:
                try:
                    ended = status.result(timeout=timeout)
                except concurrent.futures.TimeoutError:
                    timed_out = True
                    _signal_group(pid, signal.SIGTERM)
                    try:
                        ended = status.result(timeout=_KILL_GRACE)
                    except concurrent.futures.TimeoutError:
                        _signal_group(pid, signal.SIGKILL)
                        ended = status.result(timeout=30)
            except BaseException:
                _signal_group(pid, signal.SIGKILL)
                raise
            finally:
                with self._live_lock:
                    self._live.discard(pid)
            with open(log_path, encoding="utf-8", errors="replace") as log:
                logs = log.read()
            reason = None
            if os.path.exists(import_error):
                with open(import_error, encoding="utf-8", errors="replace") as report:
                    reason = report.read()
            return LaunchOutcome(
                os.waitstatus_to_exitcode(ended.status),
                logs,
                timed_out,
                reason,
                usage=ended.usage(time.perf_counter() - started),
            )
        finally:
            if follower is not None:
                follower.finish()  # every line is passed on before the step is reported
            os.unlink(log_path)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(import_error)


class _Follower:
    """Reads a child's output on a thread while it runs: hands each whole line to ``echo``
    as it arrives and, with ``keep``, keeps all of it.

    Args:
        source: the child's output: a pipe (read until its end), or the log file it writes
            (read as it grows, until :meth:`finish`).
        echo: receives whole lines, or ``None``.
        keep: keep the output for :meth:`finish` to return.
    """

    def __init__(self, source: IO[bytes], echo: Callable[[str], None] | None, keep: bool) -> None:
        self._source = source
        self._echo = echo
        self._keep = keep
        self._chunks: list[bytes] = []
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._partial = ""
        self._is_pipe = not source.seekable()
        self._ended = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="flowyml-output", daemon=True)
        self._thread.start()

    def finish(self) -> str:
        """Once the child has ended: read the rest, pass on an unfinished last line, and
        return everything it printed (empty without ``keep``)."""
        self._ended.set()
        self._thread.join()
        self._source.close()
        rest = self._partial + self._decoder.decode(b"", final=True)
        if self._echo is not None and rest:
            self._echo(rest + "\n")
        return b"".join(self._chunks).decode(errors="replace")

    def _follow(self) -> None:
        while True:
            # Looked at before reading: a read that starts after the child ended gets it all.
            ended = self._ended.is_set()
            # A pipe: what is there, waiting for some. A file: all that was written so far.
            data = os.read(self._source.fileno(), 65536) if self._is_pipe else self._source.read()
            if data:
                self._take(data)
            elif self._is_pipe or ended:
                return
            else:
                self._ended.wait(_FOLLOW_POLL)

    def _take(self, data: bytes) -> None:
        if self._keep:
            self._chunks.append(data)
        if self._echo is not None:
            text = self._partial + self._decoder.decode(data)
            head, newline, self._partial = text.rpartition("\n")
            if newline:
                self._echo(head + newline)


def _print(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


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


def _kill_group(process: subprocess.Popen[bytes]) -> ChildExit | None:
    """SIGTERM the child's process group, then SIGKILL what is left after a grace period.

    Returns:
        How the child ended, when it ended within the grace period (else it is not reaped).
    """
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return None
    ended = None
    with contextlib.suppress(subprocess.TimeoutExpired):  # still alive: SIGKILL below
        ended = wait_child(process, _KILL_GRACE)
    with contextlib.suppress(ProcessLookupError):  # the whole group is gone already
        os.killpg(process.pid, signal.SIGKILL)
    return ended


def _both(
    first: Callable[[str], None] | None, second: Callable[[str], None] | None
) -> Callable[[str], None] | None:
    """One callable passing text to both (either may be None)."""
    if first is None or second is None:
        return first or second

    def both(text: str) -> None:
        second(text)
        first(text)

    return both
