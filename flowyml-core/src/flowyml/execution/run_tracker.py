"""What the submitting process knows about one remote run while it goes on.

A remote backend runs the core scheduler in a background thread (see
:mod:`flowyml.execution.tracked_runs`) and starts one *handle* per step group: a
container, a CustomJob, a Kubernetes Job, a training job. A :class:`RunTracker` is the
run's shared state between that thread, the backend's executor and the caller's queries:
each group's handle and facts, the run's log entries in arrival order (so a stream hands
each line out exactly once), the stop request, and the final status.

With a ``record_dir`` it also mirrors itself to a small JSON record after every change,
and a ``<run_id>.stop`` file beside the record asks the run to start no further group: that
is how another process describes a run, and how its ``stop_run`` reaches it.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from flowyml.execution.log_capture import live_sink
from flowyml.records.log_entry import LogEntry, now_iso
from flowyml.records.results import WaitTimeoutError
from flowyml.records.status import ExecutionStatus

__all__ = ["GroupRecord", "RunTracker"]


@dataclass
class GroupRecord:
    """One step group of a remote run and the handle that runs it.

    Attributes:
        group: the group name.
        steps: its member steps, in order.
        status: where the group stands.
        handle: what runs it on the target (container id, job name), once created.
        image: the image it runs.
        exit_code: its exit code once it ended, when the target tells.
        submitted_at: when the handle was asked for (ISO time).
        started_at: when it started, as the target reports.
        finished_at: when it ended, as the target reports.
        error: how it ended, when it did not end well (secret values masked).
        resources: the resources it asked for.
        facts: what else the backend reports (machine type, OOM kill, API calls...).
    """

    group: str
    steps: list[str]
    status: ExecutionStatus = ExecutionStatus.PENDING
    handle: str | None = None
    image: str | None = None
    exit_code: int | None = None
    submitted_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    error: str | None = None
    resources: dict[str, Any] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, handle_key: str = "handle") -> dict[str, Any]:
        """Plain data for ``get_run_details``; the handle under ``handle_key``."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "facts"}
        data["status"] = self.status.value
        data[handle_key] = data.pop("handle")
        data["steps"] = list(self.steps)
        data["resources"] = dict(self.resources)
        return {**data, **self.facts}


# What update() sets as a field; any other key is a backend-specific fact.
_FIELDS = frozenset(f.name for f in fields(GroupRecord)) - {"group", "facts"}


class RunTracker:
    """The live state of one remote run in the submitting process; thread-safe.

    Args:
        run_id: the run.
        pipeline: the pipeline's name.
        backend: the backend's name (in messages).
        handle_key: the name of a group's handle in details (``container_id``...).
        record_dir: where to mirror the run as ``<run_id>.json`` (``None``: nowhere).
        redact: masks secret values in log lines and errors.
        echo: receives each line the run's groups print, as it arrives (the console).
    """

    def __init__(
        self,
        run_id: str,
        pipeline: str = "",
        *,
        backend: str = "remote",
        handle_key: str = "handle",
        record_dir: Path | None = None,
        redact: Callable[[str], str] | None = None,
        echo: Callable[[str], None] | None = None,
    ) -> None:
        self.run_id = run_id
        self.pipeline = pipeline
        self.backend = backend
        self.handle_key = handle_key
        self.record_dir = record_dir
        self.redact = redact or (lambda text: text)
        self.echo = echo
        self.status = ExecutionStatus.PENDING
        self.error: str | None = None
        self.image: dict[str, Any] = {}
        self.submitted_at = now_iso()
        self.finished_at: str | None = None
        self.groups: dict[str, GroupRecord] = {}
        # Called with (group, handle) when a group's handle is created.
        self.on_handle: list[Callable[[str, str], None]] = []
        self._entries: list[LogEntry] = []
        self._changed = threading.Condition()
        self._cancelled = threading.Event()
        self._done = threading.Event()
        self._save_lock = threading.Lock()
        self._stops_sent: set[str] = set()

    # -- groups ----------------------------------------------------------------------------
    def group(self, name: str, steps: Iterable[str] | None = None) -> GroupRecord:
        """The record of group ``name``, created on first use."""
        with self._changed:
            record = self.groups.get(name)
            if record is None:
                record = self.groups[name] = GroupRecord(name, list(steps or []))
            elif steps and not record.steps:
                record.steps = list(steps)
            return record

    def handle_created(self, group: str, handle: str, **facts: Any) -> bool:
        """Record a group's new handle; ``False`` when the run was stopped meanwhile (the
        caller then removes what it just created)."""
        with self._changed:
            record = self.groups[group]
            record.handle = handle
            record.submitted_at = record.submitted_at or now_iso()
            self._set(record, facts)
            callbacks = list(self.on_handle)
        for callback in callbacks:
            callback(group, handle)
        self.save()
        return not self.is_cancelled()

    def update(self, group: str, **changes: Any) -> None:
        """Change fields (or facts) of a group's record."""
        with self._changed:
            self._set(self.groups[group], changes)
        self.save()

    def _set(self, record: GroupRecord, changes: dict[str, Any]) -> None:
        for key, value in changes.items():
            if key == "status":
                value = ExecutionStatus(value)
            elif key == "error" and value:
                value = self.redact(str(value))
            if key in _FIELDS:
                setattr(record, key, value)
            else:
                record.facts[key] = value

    def handles(self, live_only: bool = False) -> list[str]:
        """The handles created for the run (``live_only``: those not ended yet)."""
        with self._changed:
            return [
                g.handle
                for g in self.groups.values()
                if g.handle and not (live_only and g.status.is_finished)
            ]

    def stop_once(self, handle: str, send: Callable[[], None]) -> None:
        """Send the stop request of ``handle`` (``send()``) unless it was sent already:
        a run's stop and the handle's watcher both stop it, and one request is enough.
        A ``send`` that raises counts as not sent."""
        with self._changed:
            if handle in self._stops_sent:
                return
            self._stops_sent.add(handle)
        try:
            send()
        except BaseException:
            with self._changed:
                self._stops_sent.discard(handle)
            raise

    def group_dicts(self) -> dict[str, dict[str, Any]]:
        """Every group as plain data."""
        with self._changed:
            return {name: g.to_dict(self.handle_key) for name, g in self.groups.items()}

    # -- logs ------------------------------------------------------------------------------
    def log(
        self,
        message: str,
        group: str | None = None,
        severity: str = "INFO",
        timestamp: str | None = None,
    ) -> None:
        """Append one line (secret values masked)."""
        self.add([LogEntry(self.redact(message), group, severity, timestamp or now_iso())])

    def add(self, entries: Iterable[LogEntry], echo: bool = True) -> None:
        """Append entries read from the target (and echo those of groups)."""
        batch = list(entries)
        if not batch:
            return
        with self._changed:
            self._entries.extend(batch)
            self._changed.notify_all()
        live = live_sink(self.run_id)
        if live is not None:  # the run store shows what a group prints while it runs
            for entry in batch:
                if entry.group is not None:
                    live.write(entry.group, entry.message + "\n")
        if echo and self.echo is not None:
            for entry in batch:
                if entry.group is not None:
                    self.echo(f"[{entry.group}] {entry.message}")

    def entries(self, start: int = 0, timeout: float | None = 0.0) -> list[LogEntry]:
        """Entries from index ``start`` on, waiting up to ``timeout`` for one to arrive."""
        with self._changed:
            if timeout != 0.0 and len(self._entries) <= start and not self._done.is_set():
                self._changed.wait(timeout)
            return list(self._entries[start:])

    def follow(self, poll_interval: float) -> Iterator[LogEntry]:
        """Every entry once, in order, as it arrives, until the run has ended."""
        seen = 0
        while True:
            finished = self.finished
            batch = self.entries(seen, timeout=None if finished else poll_interval)
            seen += len(batch)
            yield from batch
            if finished and not batch:
                return

    # -- stopping --------------------------------------------------------------------------
    def cancel(self) -> None:
        """Start no further group; the backend stops the running ones."""
        self._cancelled.set()

    def is_cancelled(self) -> bool:
        """Whether the run was stopped, here or (through the stop file) by another process."""
        if self._cancelled.is_set():
            return True
        if self.record_dir is not None and self.stop_file(self.record_dir, self.run_id).exists():
            self._cancelled.set()
            return True
        return False

    # -- completion ------------------------------------------------------------------------
    def set_status(self, status: ExecutionStatus, error: str | None = None) -> None:
        """Change the run's status (and error)."""
        with self._changed:
            self.status = status
            if error is not None:
                self.error = self.redact(error)
        self.save()

    def finish(self, status: ExecutionStatus, error: str | None = None) -> None:
        """Record the run's end with a line saying so, and wake every waiter."""
        severity = "INFO" if status.is_successful else "ERROR"
        self.log(f"run {self.run_id} finished: {status.value}", severity=severity)
        with self._changed:
            self.status = status
            if error is not None:
                self.error = self.redact(error)
            self.finished_at = now_iso()
        self.save()
        with self._changed:
            self._done.set()
            self._changed.notify_all()

    @property
    def finished(self) -> bool:
        """Whether the run has ended."""
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> ExecutionStatus:
        """Block until the run ends; returns its status.

        Raises:
            WaitTimeoutError: it did not end within ``timeout`` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        # Short waits in a loop keep Ctrl-C responsive in the main thread.
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if self._done.wait(0.25 if remaining is None else max(0.0, min(0.25, remaining))):
                return self.status
            if deadline is not None and time.monotonic() >= deadline:
                raise WaitTimeoutError(
                    f"{self.backend} run {self.run_id} still {self.status.value} after {timeout} s"
                )

    # -- the record on disk ----------------------------------------------------------------
    def to_record(self) -> dict[str, Any]:
        """The run as plain data (what another process reads)."""
        with self._changed:
            return {
                "run_id": self.run_id,
                "pipeline": self.pipeline,
                "status": self.status.value,
                "error": self.error,
                "image": dict(self.image),
                "submitted_at": self.submitted_at,
                "finished_at": self.finished_at,
                "groups": {n: g.to_dict(self.handle_key) for n, g in self.groups.items()},
            }

    def save(self) -> None:
        """Write the record atomically (nothing without a ``record_dir``)."""
        if self.record_dir is None:
            return
        path = self.record_file(self.record_dir, self.run_id)
        # One writer at a time, so an older snapshot never replaces a newer one.
        with self._save_lock:
            path.parent.mkdir(parents=True, exist_ok=True)
            data = json.dumps(self.to_record(), indent=1, default=str)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
            with os.fdopen(fd, "w") as handle:
                handle.write(data)
            os.replace(tmp, path)

    @staticmethod
    def record_file(record_dir: Path, run_id: str) -> Path:
        """Where the record of ``run_id`` lives."""
        return record_dir / f"{run_id}.json"

    @staticmethod
    def stop_file(record_dir: Path, run_id: str) -> Path:
        """The file whose presence asks run ``run_id`` to start no further group."""
        return record_dir / f"{run_id}.stop"

    @classmethod
    def load_record(cls, record_dir: Path, run_id: str) -> dict[str, Any] | None:
        """A run's record as plain data, or ``None`` when there is none."""
        try:
            data: dict[str, Any] = json.loads(cls.record_file(record_dir, run_id).read_text())
        except (OSError, ValueError):
            return None
        return data
