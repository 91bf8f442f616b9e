"""The fake Vertex AI's table of CustomJobs: names, states, timestamps, listing.

One lock guards every record (``JobTable.lock``, re-entrant) so that a state change and
the flags the job runner and ``CancelCustomJob`` consult are always seen together.
"""

from __future__ import annotations

import base64
import itertools
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import grpc
from google.cloud import aiplatform_v1
from google.rpc import status_pb2

from .filter_syntax import FilterError, Term, parse_filter
from .grpc_loopback import RpcAbort
from .vertex_requests import JobName, parse_job_name

__all__ = ["TERMINAL_STATES", "JobRecord", "JobTable"]

JobState = aiplatform_v1.JobState
TERMINAL_STATES = frozenset(
    {
        JobState.JOB_STATE_SUCCEEDED,
        JobState.JOB_STATE_FAILED,
        JobState.JOB_STATE_CANCELLED,
        JobState.JOB_STATE_EXPIRED,
        JobState.JOB_STATE_PARTIALLY_SUCCEEDED,
    }
)
DEFAULT_PAGE_SIZE = 100


@dataclass(eq=False)
class JobRecord:
    """A job and what its runner and cancellation share (read/write under ``JobTable.lock``).

    Attributes:
        name: The job's resource name, parsed.
        job: The CustomJob as served (mutated in place; copy it to hand it out).
        cancel_requested: Set by CancelCustomJob or by the server stopping.
        container: The job's Docker container once it is started.
        wakeup: Set on cancel, to end a queue delay early.
        finished: Set once the job reached a terminal state and its container is gone.
    """

    name: JobName
    job: Any
    cancel_requested: bool = False
    container: Any = None
    wakeup: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)


def _job_matcher(term: Term) -> Callable[[Any], bool]:
    if term.field.startswith("labels."):
        key = term.field[len("labels.") :]
        if term.op == ":" and term.value == "*":
            return lambda job: key in job.labels
        if term.op in ("=", "!="):
            return lambda job: (job.labels.get(key) == term.value) == (term.op == "=")
    elif term.field in ("state", "display_name") and term.op in ("=", "!="):
        if term.field == "state" and term.value not in JobState.__members__:
            raise FilterError(f"unknown state {term.value!r}")
        attribute = term.field

        def read(job: Any) -> str:
            return str(job.state.name if attribute == "state" else job.display_name)

        return lambda job: (read(job) == term.value) == (term.op == "=")
    raise FilterError(
        f"{term.field}{term.op}{term.value!r}: the fake ListCustomJobs understands "
        'labels.KEY="V", labels.KEY!="V", labels.KEY:*, state= and display_name= (or !=)'
    )


class JobTable:
    """Every CustomJob the fake knows, by resource name."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._records: dict[str, JobRecord] = {}
        self._ids = itertools.count(random.randrange(10**17, 9 * 10**17))

    def add(self, project: str, location: str, job: Any) -> JobRecord:
        """Register a validated job: assign its name, QUEUED state and create time."""
        with self.lock:
            name = JobName(project, location, str(next(self._ids)))
            job.name = str(name)
            now = datetime.now(UTC)
            job.create_time = now
            job.update_time = now
            job.state = JobState.JOB_STATE_QUEUED
            record = JobRecord(name, job)
            self._records[str(name)] = record
            return record

    def get(self, name: str) -> JobRecord:
        """The record of a job.

        Raises:
            RpcAbort: INVALID_ARGUMENT for a malformed name, NOT_FOUND for an unknown job.
        """
        parse_job_name(name)
        with self.lock:
            record = self._records.get(name)
        if record is None:
            raise RpcAbort(grpc.StatusCode.NOT_FOUND, f"The CustomJob {name} does not exist.")
        return record

    def find(self, name: str) -> JobRecord | None:
        """The record of a job, or None (no validation)."""
        with self.lock:
            return self._records.get(name)

    def records(self) -> list[JobRecord]:
        """Every record, oldest first."""
        with self.lock:
            return list(self._records.values())

    def snapshot(self, record: JobRecord) -> Any:
        """A copy of the job as it is now, safe to serialise outside the lock."""
        with self.lock:
            return aiplatform_v1.CustomJob.deserialize(
                aiplatform_v1.CustomJob.serialize(record.job)
            )

    def set_state(
        self, record: JobRecord, state: Any, error: tuple[int, str] | None = None
    ) -> None:
        """Move a job to ``state``, stamping its times; ``error`` is (code, message)."""
        with self.lock:
            job = record.job
            if job.state in TERMINAL_STATES:
                return
            now = datetime.now(UTC)
            job.state = state
            job.update_time = now
            if state == JobState.JOB_STATE_RUNNING and "start_time" not in job:
                job.start_time = now
            if state in TERMINAL_STATES:
                job.end_time = now
            if error is not None:
                job.error = status_pb2.Status(code=error[0], message=error[1])

    def remove(self, record: JobRecord) -> None:
        """Forget a job."""
        with self.lock:
            self._records.pop(str(record.name), None)

    def list(
        self, parent: str, filter_text: str, page_size: int, page_token: str
    ) -> tuple[list[Any], str]:
        """One page of the jobs under ``parent`` matching ``filter_text``, newest first.

        Returns:
            The page's job copies and the next page token ("" on the last page).

        Raises:
            RpcAbort: INVALID_ARGUMENT for an unsupported filter or a bad page token.
        """
        try:
            tests = [_job_matcher(term) for term in parse_filter(filter_text)]
        except FilterError as error:
            raise RpcAbort(grpc.StatusCode.INVALID_ARGUMENT, f"filter: {error}") from error
        try:
            offset = int(base64.urlsafe_b64decode(page_token).decode()) if page_token else 0
        except ValueError as error:
            raise RpcAbort(grpc.StatusCode.INVALID_ARGUMENT, "page_token is malformed") from error
        with self.lock:
            matching = [
                record
                for record in reversed(self._records.values())
                if record.name.parent == parent and all(test(record.job) for test in tests)
            ]
            size = page_size if page_size > 0 else DEFAULT_PAGE_SIZE
            page = [self.snapshot(record) for record in matching[offset : offset + size]]
        more = offset + size < len(matching)
        token = base64.urlsafe_b64encode(str(offset + size).encode()).decode() if more else ""
        return page, token
