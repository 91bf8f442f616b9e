"""What the ``docker`` backend knows about one run: its groups' containers, logs, state.

A :class:`RunTracker` lives in the process that submitted the run. It mirrors itself to a
small JSON record under the project's ``.flowyml/docker/runs/`` after every change, so
another process can describe the run (with the run store and the labels of its live
containers). A ``<run_id>.stop`` file beside the record asks the submitting process to
start no further container: that is how ``stop_run`` reaches a run of another process.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flowyml.backend import ExecutionStatus, WaitTimeoutError
from flowyml_docker.secrets import Redactor

__all__ = ["GroupRecord", "RunTracker", "load_record", "now_iso", "record_path", "stop_marker"]


def now_iso() -> str:
    """The current UTC time in ISO 8601."""
    return datetime.now(UTC).isoformat()


def record_path(home: Path, run_id: str) -> Path:
    """Where the record of a run lives, under the project's home folder."""
    return home / "docker" / "runs" / f"{run_id}.json"


def stop_marker(home: Path, run_id: str) -> Path:
    """The file whose presence asks a run to start no further container."""
    return record_path(home, run_id).with_suffix(".stop")


def load_record(home: Path, run_id: str) -> dict[str, Any] | None:
    """A run's record as plain data, or ``None`` when there is none."""
    try:
        data: dict[str, Any] = json.loads(record_path(home, run_id).read_text())
    except (OSError, ValueError):
        return None
    return data


@dataclass
class GroupRecord:
    """One step group's container.

    Attributes:
        group: the group name.
        steps: its member steps.
        status: pending, running, success, failed or cancelled.
        container_id: the container's id once created.
        container_name: its name.
        image: the image it runs.
        exit_code: its exit code once finished.
        oom_killed: the kernel killed it for exceeding its memory limit.
        launched_at: when the container was asked for (ISO time).
        started_at: when it started, as the engine reports.
        finished_at: when it finished, as the engine reports.
        error: how it ended, when it did not end well.
        resources: the limits it ran with.
    """

    group: str
    steps: list[str]
    status: str = "pending"
    container_id: str | None = None
    container_name: str | None = None
    image: str | None = None
    exit_code: int | None = None
    oom_killed: bool = False
    launched_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None
    resources: dict[str, Any] = field(default_factory=dict)


class RunTracker:
    """State of one run in the submitting process; thread-safe.

    Args:
        run_id: the run.
        pipeline: the pipeline's name.
        home: the project's ``.flowyml`` folder (``None``: keep nothing on disk).
        redactor: masks secret values in every log line.
    """

    def __init__(
        self,
        run_id: str,
        pipeline: str = "",
        home: Path | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self.run_id = run_id
        self.pipeline = pipeline
        self.home = home
        self.redactor = redactor or Redactor()
        self.status = ExecutionStatus.PENDING
        self.error: str | None = None
        self.image: dict[str, Any] = {}
        self.submitted_at = now_iso()
        self.finished_at: str | None = None
        self.groups: dict[str, GroupRecord] = {}
        self._entries: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._cancelled = threading.Event()
        self._done = threading.Event()
        self._save_lock = threading.Lock()
        self.on_container: list[Callable[[str, str], None]] = []

    # -- logs --------------------------------------------------------------------------
    def log(
        self,
        message: str,
        group: str | None = None,
        severity: str = "INFO",
        timestamp: str | None = None,
    ) -> None:
        """Append one log entry (secrets masked)."""
        entry = {
            "timestamp": timestamp or now_iso(),
            "severity": severity,
            "message": self.redactor.text(message),
            "group": group,
            "is_finished": False,
        }
        with self._cond:
            self._entries.append(entry)
            self._cond.notify_all()

    def entries(self, start: int = 0, timeout: float | None = None) -> list[dict[str, Any]]:
        """Entries from index ``start`` on, waiting up to ``timeout`` for one to arrive."""
        with self._cond:
            if timeout and len(self._entries) <= start and not self._done.is_set():
                self._cond.wait(timeout)
            return list(self._entries[start:])

    # -- containers --------------------------------------------------------------------
    def group(self, name: str, steps: list[str]) -> GroupRecord:
        """The record of group ``name``, created on first use."""
        with self._cond:
            record = self.groups.get(name)
            if record is None:
                record = self.groups[name] = GroupRecord(name, steps)
            return record

    def container_created(self, group: str, container_id: str, name: str, image: str) -> bool:
        """Record a new container; ``False`` when the run was stopped meanwhile."""
        with self._cond:
            record = self.groups[group]
            record.container_id, record.container_name, record.image = container_id, name, image
            record.status = "created"
            cancelled = self.is_cancelled()
            callbacks = list(self.on_container)
        for callback in callbacks:
            callback(group, container_id)
        self.save()
        return not cancelled

    def update_group(self, group: str, **changes: Any) -> None:
        """Change fields of a group's record and save the run record."""
        with self._cond:
            record = self.groups[group]
            for key, value in changes.items():
                masked = self.redactor.text(value) if key == "error" and value else value
                setattr(record, key, masked)
        self.save()

    def live_containers(self) -> list[str]:
        """Ids of the containers created and not yet finished."""
        with self._cond:
            return [
                g.container_id
                for g in self.groups.values()
                if g.container_id and g.status in ("created", "running")
            ]

    # -- stopping ----------------------------------------------------------------------
    def cancel(self) -> None:
        """Start no further container; the caller stops the live ones."""
        self._cancelled.set()

    def is_cancelled(self) -> bool:
        """Whether the run was stopped, here or (through the stop file) elsewhere."""
        if self._cancelled.is_set():
            return True
        if self.home is not None and stop_marker(self.home, self.run_id).exists():
            self._cancelled.set()
            return True
        return False

    # -- completion ----------------------------------------------------------------------
    def set_status(self, status: ExecutionStatus, error: str | None = None) -> None:
        """Change the run's status (and error) and save the record."""
        with self._cond:
            self.status = status
            if error is not None:
                self.error = self.redactor.text(error)
        self.save()

    def finish(self, status: ExecutionStatus, error: str | None = None) -> None:
        """Record the final status and wake every waiter."""
        with self._cond:
            self.status = status
            if error is not None:
                self.error = self.redactor.text(error)
            self.finished_at = now_iso()
        self.save()
        with self._cond:
            self._done.set()
            self._cond.notify_all()

    @property
    def finished(self) -> bool:
        """Whether the run is over."""
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> ExecutionStatus:
        """Block until the run finishes; returns its final status.

        Raises:
            WaitTimeoutError: it did not finish within ``timeout`` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        # Short waits in a loop keep Ctrl-C responsive in the main thread.
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if self._done.wait(0.25 if remaining is None else max(0.0, min(0.25, remaining))):
                return self.status
            if deadline is not None and time.monotonic() >= deadline:
                raise WaitTimeoutError(
                    f"run {self.run_id} (docker) still {self.status.value} after {timeout} s"
                )

    # -- the record on disk ----------------------------------------------------------------
    def to_record(self) -> dict[str, Any]:
        """The run as plain data (what another process reads)."""
        with self._cond:
            return {
                "run_id": self.run_id,
                "pipeline": self.pipeline,
                "status": self.status.value,
                "error": self.error,
                "image": dict(self.image),
                "submitted_at": self.submitted_at,
                "finished_at": self.finished_at,
                "groups": {name: asdict(g) for name, g in self.groups.items()},
            }

    def save(self) -> None:
        """Write the record atomically (no-op without a home folder)."""
        if self.home is None:
            return
        path = record_path(self.home, self.run_id)
        # One writer at a time, so an older snapshot never replaces a newer one.
        with self._save_lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            data = json.dumps(self.to_record(), indent=1, default=str)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
            with os.fdopen(fd, "w") as handle:
                handle.write(data)
            os.replace(tmp, path)
