"""Stop a run from any process: ``flowyml runs stop`` and the dashboard's stop button.

A run of a remote backend (``docker``, ``vertex_ai``...) is stopped through that
backend's ``stop_run``, which reaches runs of other processes too. A run the scheduler
drives in its owner's process (``local``, ``subprocess``, ``dask``) is interrupted there:
its owner gets SIGINT, as from Ctrl-C, and records the run ``cancelled`` after stopping
its running steps.
"""

from __future__ import annotations

import os
import signal
from typing import Any

from flowyml.errors import BackendError, FlowyMLError
from flowyml.execution.launch import build_backend
from flowyml.execution.remote import RemoteOrchestrator
from flowyml.plugins.manager import get_plugin_manager
from flowyml.project.folder import Project, open_project
from flowyml.records.status import ExecutionStatus
from flowyml.storage.run_owner import RunOwner, gone_reason

__all__ = ["stop_run"]

_ACTIVE = (ExecutionStatus.RUNNING, ExecutionStatus.PENDING, ExecutionStatus.QUEUED)


def stop_run(run_id: str, graceful: bool = True, project: Project | None = None) -> str:
    """Ask the run ``run_id`` (a unique prefix is enough) to stop; returns what was done.

    Raises:
        RunNotFoundError: no run has this id.
        FlowyMLError: the run already ended, or its owner runs on another machine.
        BackendError: its backend is not installed here.
    """
    project = project or open_project()
    record = project.run_store.get_run(run_id, with_steps=False)
    if record.status not in _ACTIVE:
        raise FlowyMLError(f"run '{record.run_id}' already ended: it is {record.status.value}")
    manager = get_plugin_manager()
    info = manager.get_backend(record.backend) if manager.provides(record.backend) else None
    if info is None:
        raise BackendError(
            f"run '{record.run_id}' runs on backend '{record.backend}', which is not installed"
            " here; install its plugin to stop the run from this process"
        )
    if issubclass(info.cls, RemoteOrchestrator):
        _backend_for(project, record.backend).stop_run(record.run_id, graceful=graceful)
        return f"asked backend '{record.backend}' to stop run '{record.run_id}'"
    return _interrupt_owner(project, record.run_id)


def _backend_for(project: Project, backend: str) -> Any:
    """The backend built from the first stack that selects it, else from its defaults."""
    stacks = [name for name, stack in project.config.stacks.items() if stack.backend == backend]
    return build_backend(project, stacks[0] if stacks else backend)[1]


def _interrupt_owner(project: Project, run_id: str) -> str:
    owner = project.run_store.owner_of(run_id)
    if owner is None:
        raise FlowyMLError(f"run '{run_id}' has no recorded owner process to interrupt")
    here = RunOwner.current()
    if (owner.host, owner.machine) != (here.host, here.machine):
        raise FlowyMLError(
            f"run '{run_id}' is driven by {owner.describe()}, not on this machine;"
            " stop it there (Ctrl-C, or `flowyml runs stop` on that host)"
        )
    if owner.pid == here.pid:
        raise FlowyMLError(f"run '{run_id}' is driven by this process; interrupt it here")
    if gone_reason(owner, last_seen=float("inf")) is not None:
        raise FlowyMLError(f"run '{run_id}': its owner ({owner.describe()}) is gone")
    os.kill(owner.pid, signal.SIGINT)
    return f"interrupted the process driving run '{run_id}' ({owner.describe()})"
