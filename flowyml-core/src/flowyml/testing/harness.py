"""What every part of the conformance suite stands on: the project under test, capability
flags, and polling.

A backend's test class provides one fixture, ``backend_stack``: the stack it is tested
as, in the form it takes under ``stacks.NAME`` of a ``flowyml.yaml``. For each test the
suite writes a fresh project folder with that stack (as ``conformance``, cache on, and
``conformance-nocache``) beside a ``reference`` stack on the ``local`` backend, makes it
the working directory, and hands the test a :class:`ConformanceProject`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from flowyml.definition.pipeline import new_run_id
from flowyml.errors import FlowyMLError, PluginError
from flowyml.execution.executor import Executor
from flowyml.execution.launch import Pipeline
from flowyml.execution.remote import RemoteOrchestrator
from flowyml.plugins.manager import BackendInfo, get_plugin_manager, reset_plugin_manager
from flowyml.project.config import StackConfig
from flowyml.project.folder import forget_projects, open_project
from flowyml.storage.pipeline_run import PipelineRun
from flowyml.storage.run_store import RunRecord
from flowyml.testing.pipelines import RUNNING_MARKER

__all__ = ["ConformanceBase", "ConformanceProject", "Leftovers", "wait_for"]

Leftovers = Callable[[str], list[str]]
"""Run id -> descriptions of what of that run still runs (containers, jobs...)."""

_ENVIRONMENT = ("FLOWYML_BACKEND", "FLOWYML_CONFIG", "FLOWYML_STEP_RUNNER")


def wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    interval = 0.02
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)
        interval = min(interval * 2, 0.25)


def _gone(pid: int) -> bool:
    return not _alive(pid)


def _alive(pid: int) -> bool:
    """Whether a process runs on this host (a zombie counts as gone)."""
    if Path("/proc/self").exists():
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            return False
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ConformanceProject:
    """A fresh project folder whose stacks run the backend under test.

    Attributes:
        root: the project folder (also the working directory during the test).
        stack: the backend's stack, cache on.
        nocache_stack: the same stack, cache off: every step really runs.
        reference_stack: the ``local`` backend, cache off: what outputs must equal.
        probe_dir: where steps that can hang note their process (see
            :func:`flowyml.testing.pipelines.note_running`).
    """

    stack = "conformance"
    nocache_stack = "conformance-nocache"
    reference_stack = "reference"

    def __init__(self, root: Path, backend_stack: Mapping[str, Any]) -> None:
        self.root = root
        self.probe_dir = root / "probes"
        self.probe_dir.mkdir(parents=True, exist_ok=True)
        own = {k: v for k, v in backend_stack.items() if k not in ("cache", "fail_fast")}
        stacks = {
            self.stack: {**own, "cache": True, "fail_fast": True},
            self.nocache_stack: {**own, "cache": False, "fail_fast": True},
            self.reference_stack: {"backend": "local", "cache": False},
        }
        (root / "flowyml.yaml").write_text(yaml.safe_dump({"stacks": stacks}, sort_keys=False))

    # -- the backend ---------------------------------------------------------------------
    def stack_config(self, name: str | None = None) -> StackConfig:
        """A stack of the project (default: the backend's, cache on)."""
        return open_project(self.root).config.resolve(name or self.stack)[1]

    @property
    def backend_name(self) -> str:
        """The name of the backend under test."""
        return self.stack_config().backend

    def backend_info(self) -> BackendInfo:
        """The backend as the plugin manager registered it (raises ``PluginError``)."""
        return get_plugin_manager().get_backend(self.backend_name)

    @property
    def is_remote(self) -> bool:
        """Whether the backend is a ``RemoteOrchestrator`` (else an ``Executor``)."""
        return issubclass(self.backend_info().cls, RemoteOrchestrator)

    def new_backend(self) -> Executor | RemoteOrchestrator:
        """A backend instance built from the stack's settings, as ``Pipeline.run`` builds it."""
        backend: Executor | RemoteOrchestrator = self.backend_info().cls.from_config(
            self.stack_config().settings
        )
        return backend

    # -- running -------------------------------------------------------------------------
    def run(self, pipeline: Pipeline, *, cache: bool = False, **options: Any) -> PipelineRun:
        """Run ``pipeline`` on the backend under test (cache off unless asked)."""
        stack = self.stack if cache else self.nocache_stack
        options.setdefault("echo_logs", False)
        return pipeline.run(stack, **options)

    def reference_run(self, pipeline: Pipeline, **options: Any) -> PipelineRun:
        """Run ``pipeline`` on ``local``, the reference every backend must agree with."""
        try:
            get_plugin_manager().get_backend("local")
        except PluginError as exc:
            pytest.fail(
                "the conformance suite compares outputs with the `local` backend: install "
                f"flowyml-local beside the backend under test ({exc})"
            )
        options.setdefault("echo_logs", False)
        return pipeline.run(self.reference_stack, **options)

    def record(self, run_id: str) -> RunRecord:
        """The run as its record in the project's run store shows it."""
        return open_project(self.root).run_store.get_run(run_id)

    def stored_logs(self, run_id: str, step: str | None = None) -> str:
        """What the run store kept of a run's output (``flowyml runs logs RUN_ID``)."""
        rows = open_project(self.root).run_store.get_logs(run_id, step)
        return "".join(text if text.endswith("\n") else text + "\n" for _s, _t, text in rows)

    @staticmethod
    def new_run_id() -> str:
        """A fresh run id, for tests that must know it before the run starts."""
        return f"conformance-{new_run_id()}"

    # -- watching steps ------------------------------------------------------------------
    def noted_processes(self) -> dict[str, int]:
        """Step name -> pid of each step that noted its process on this host."""
        found: dict[str, int] = {}
        host = socket.gethostname()
        for note in self.probe_dir.glob("*"):
            noted_host, _, pid = note.read_text().partition(" ")
            if noted_host == host and pid.isdigit():
                found[note.name] = int(pid)
        return found

    def is_running(self, step: str, run_id: str, backend: Any | None = None) -> bool:
        """Whether ``step`` noted that it runs: in the probe folder, or (for a remote
        backend) in the run's logs as ``get_run_logs`` returns them."""
        if step in self.noted_processes():
            return True
        if backend is None or not isinstance(backend, RemoteOrchestrator):
            return False
        try:
            logs = backend.get_run_logs(run_id)
        except FlowyMLError:
            return False  # not submitted yet
        return f"{RUNNING_MARKER} {step}" in logs

    def assert_no_step_process_left(self, timeout: float) -> None:
        """Every step process noted on this host ends within ``timeout`` seconds (the
        test process itself, which runs in-process steps, is left out)."""
        for step, pid in self.noted_processes().items():
            if pid != os.getpid():
                wait_for(partial(_gone, pid), timeout, f"{step}'s process {pid} to end")

    @contextlib.contextmanager
    def interrupt_when_running(self, step: str, run_id: str, timeout: float) -> Iterator[None]:
        """Within the block, send this process SIGINT (Ctrl-C) once ``step`` of run
        ``run_id`` runs; the ``Pipeline.run`` in the block then raises ``RunInterrupted``.

        The signal is sent at most once, and never after the block is left.
        """
        left = threading.Event()
        watcher = self.new_backend() if self.is_remote else None

        def watch() -> None:
            deadline = time.monotonic() + timeout
            while not left.is_set() and time.monotonic() < deadline:
                if self.is_running(step, run_id, watcher):
                    if not left.is_set():
                        os.kill(os.getpid(), signal.SIGINT)
                    return
                left.wait(0.1)

        thread = threading.Thread(target=watch, name="conformance-interrupt", daemon=True)
        thread.start()
        try:
            yield
        finally:
            left.set()
            thread.join()


class ConformanceBase:
    """Fixtures and capability flags shared by every part of the conformance suite.

    A backend's test class sets the flags that hold for it and overrides the
    ``backend_stack`` fixture (and, to look for more than step processes after a stop,
    ``leftovers``). A test that needs a capability the class does not declare is skipped,
    naming the flag.

    Attributes:
        isolates_steps: each step runs in a process (or container) of its own, so a step
            that ends its process (``os._exit``, a segfault) is a failed step, not the end
            of the process that owns the run.
        stops_running_steps: a run interrupted by Ctrl-C (SIGINT) is recorded cancelled
            and its running steps are stopped, not abandoned.
        stop_seconds: how long a stop may take until nothing of the run is left.
        step_start_seconds: how long a step may take to start running (image builds
            and job submission included).
    """

    isolates_steps: ClassVar[bool] = False
    stops_running_steps: ClassVar[bool] = False
    stop_seconds: ClassVar[float] = 30.0
    step_start_seconds: ClassVar[float] = 300.0

    @pytest.fixture
    def backend_stack(self) -> Mapping[str, Any]:
        """The stack under test, as under ``stacks.NAME`` in ``flowyml.yaml``: at least
        ``backend``, usually ``settings``; ``cache`` and ``fail_fast`` are set by the suite.
        """
        pytest.fail(
            f"{type(self).__name__} must override the `backend_stack` fixture: return the "
            "stack to test, e.g. {'backend': 'mine', 'settings': {...}}"
        )

    @pytest.fixture
    def leftovers(self) -> Leftovers:
        """What of a run still runs besides step processes of this host; none by default.

        Container and cloud backends override it (their containers or jobs of the run).
        """
        return lambda run_id: []

    @pytest.fixture
    def conformance(
        self, backend_stack: Mapping[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> Iterator[ConformanceProject]:
        """A fresh project whose stacks run the backend under test; the working directory."""
        root = tmp_path / "conformance-project"
        root.mkdir()
        for name in _ENVIRONMENT:
            monkeypatch.delenv(name, raising=False)
        monkeypatch.chdir(root)
        forget_projects()
        reset_plugin_manager()
        project = ConformanceProject(root, backend_stack)
        yield project
        forget_projects()
        reset_plugin_manager()

    def require(self, capability: str, why: str) -> None:
        """Skip the test unless the class declares ``capability = True``."""
        if not getattr(self, capability):
            pytest.skip(f"{type(self).__name__} sets {capability} = False: {why}")

    def require_remote(self, conformance: ConformanceProject, what: str) -> None:
        """Skip the test unless the backend is a ``RemoteOrchestrator``."""
        if not conformance.is_remote:
            pytest.skip(
                f"backend '{conformance.backend_name}' is an Executor: only the "
                f"RemoteOrchestrator contract has {what}"
            )
