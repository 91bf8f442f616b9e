"""What the submitting process knows about one ``vertex_ai`` run while it goes on.

A :class:`RunState` is shared by the orchestrator (queries, ``stop_run``), the executor
(one entry per group job) and the run's background thread. Log lines collected from
Cloud Logging are kept here in arrival order, so ``stream_logs`` of a run submitted by
this process hands each line out exactly once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flowyml.backend import ExecutionStatus, WaitTimeoutError

__all__ = ["GroupJob", "RunState", "now_iso"]


def now_iso() -> str:
    """The current UTC time in ISO 8601."""
    return datetime.now(UTC).isoformat()


@dataclass
class GroupJob:
    """One step group's CustomJob.

    Attributes:
        group: the group name.
        steps: its member steps, in order.
        job_name: the CustomJob resource name, once created.
        state: the last Vertex ``JobState`` name seen.
        status: the FlowyML status of that state.
        machine: machine type, accelerator and replica settings of the job.
        resources: the group's ``ResourceConfig`` as plain data.
        submitted_at: when the job was created.
        started_at: when Vertex started running it.
        finished_at: when it ended.
        error: Vertex's error message, or why the job did not run.
        api_calls: API calls made for this group (create, polls, log reads).
    """

    group: str
    steps: list[str]
    job_name: str | None = None
    state: str = "JOB_STATE_UNSPECIFIED"
    status: ExecutionStatus = ExecutionStatus.PENDING
    machine: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, Any] = field(default_factory=dict)
    submitted_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None
    api_calls: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Plain data for ``get_run_details``."""
        return {
            "group": self.group,
            "steps": list(self.steps),
            "job_name": self.job_name,
            "state": self.state,
            "status": self.status.value,
            "machine": dict(self.machine),
            "resources": dict(self.resources),
            "submitted_at": self.submitted_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "error": self.error,
            "api_calls": self.api_calls,
        }


class RunState:
    """The live state of one run in the submitting process (thread-safe).

    Args:
        run_id: the run.
        pipeline: the pipeline's name.
        echo: receives each log line as it arrives (the console), or ``None``.
    """

    def __init__(
        self, run_id: str, pipeline: str = "", echo: Callable[[str], None] | None = None
    ) -> None:
        self.run_id = run_id
        self.pipeline = pipeline
        self.echo = echo
        self.status = ExecutionStatus.PENDING
        self.error: str | None = None
        self.submitted_at = now_iso()
        self.finished_at: str | None = None
        self.image: dict[str, Any] = {}
        self.groups: dict[str, GroupJob] = {}
        self.on_job: list[Callable[[str, str], None]] = []
        self._entries: list[dict[str, Any]] = []
        self._cancelled = False
        self._done = threading.Event()
        self._changed = threading.Condition()

    # -- groups ----------------------------------------------------------------------------
    def group(self, name: str, steps: list[str] | None = None) -> GroupJob:
        """The record of group ``name``, created on first use."""
        with self._changed:
            record = self.groups.get(name)
            if record is None:
                record = self.groups[name] = GroupJob(name, list(steps or []))
            elif steps and not record.steps:
                record.steps = list(steps)
            return record

    def job_created(self, group: str, job_name: str) -> bool:
        """Record a group's job; ``False`` when the run was stopped meanwhile (the caller
        then cancels the job it just created)."""
        with self._changed:
            record = self.groups[group]
            record.job_name = job_name
            record.submitted_at = now_iso()
            cancelled = self._cancelled
        for callback in self.on_job:
            callback(group, job_name)
        return not cancelled

    def update(self, group: str, **facts: Any) -> None:
        """Set fields of a group's record."""
        with self._changed:
            record = self.groups[group]
            for key, value in facts.items():
                setattr(record, key, value)

    def job_names(self) -> list[str]:
        """Every job created for the run so far."""
        with self._changed:
            return [g.job_name for g in self.groups.values() if g.job_name]

    def running_job_names(self) -> list[str]:
        """The jobs created for the run that have not ended yet."""
        with self._changed:
            return [
                g.job_name for g in self.groups.values() if g.job_name and not g.status.is_finished
            ]

    # -- logs ------------------------------------------------------------------------------
    def log(self, entries: list[dict[str, Any]]) -> None:
        """Append log entries (and echo them)."""
        if not entries:
            return
        with self._changed:
            self._entries.extend(entries)
            self._changed.notify_all()
        if self.echo is not None:
            for entry in entries:
                self.echo(f"[{entry.get('group') or 'run'}] {entry['message']}")

    def note(self, message: str, group: str | None = None, severity: str = "INFO") -> None:
        """Append a line of the backend's own (job created, job finished...)."""
        entry = {
            "timestamp": now_iso(),
            "severity": severity,
            "message": message,
            "group": group,
            "is_finished": False,
        }
        with self._changed:
            self._entries.append(entry)
            self._changed.notify_all()

    def entries(self, start: int = 0, timeout: float | None = 0.0) -> list[dict[str, Any]]:
        """Entries from index ``start`` on; waits up to ``timeout`` for one to arrive."""
        with self._changed:
            if len(self._entries) <= start and timeout and not self._done.is_set():
                self._changed.wait(timeout)
            return list(self._entries[start:])

    # -- lifecycle ---------------------------------------------------------------------------
    def cancel(self) -> None:
        """Mark the run stopped: no further group is submitted."""
        with self._changed:
            self._cancelled = True

    def is_cancelled(self) -> bool:
        """Whether ``stop_run`` (or Ctrl-C) stopped the run."""
        return self._cancelled

    @property
    def finished(self) -> bool:
        """Whether the run has ended."""
        return self._done.is_set()

    def finish(self, status: ExecutionStatus, error: str | None) -> None:
        """Record the final status and wake every waiter."""
        with self._changed:
            self.status, self.error = status, error
            self.finished_at = now_iso()
            self._done.set()
            self._changed.notify_all()

    def wait(self, timeout: float | None = None) -> ExecutionStatus:
        """Block until the run ends; returns its status.

        Raises:
            WaitTimeoutError: it did not end within ``timeout`` seconds.
        """
        started = time.monotonic()
        # Short slices keep the waiting thread responsive to Ctrl-C.
        while not self._done.wait(0.2):
            if timeout is not None and time.monotonic() - started >= timeout:
                raise WaitTimeoutError(
                    f"vertex_ai run {self.run_id} still {self.status.value} after {timeout} s"
                )
        return self.status
