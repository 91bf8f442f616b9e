"""What a fake AWS service was asked, in order: for tests that assert on API traffic.

A dry run that must make no ``CreateTrainingJob`` call, a benchmark that counts
``DescribeTrainingJob`` polls per job, a test that replays the exact body the backend
sent against moto: all read this log. Failed calls (injected or not) are recorded too.
"""

from __future__ import annotations

import copy
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

__all__ = ["RequestLog", "RequestRecord"]


@dataclass(frozen=True)
class RequestRecord:
    """One request and how it was answered.

    Attributes:
        operation: e.g. ``CreateTrainingJob``.
        body: The decoded JSON request body (a private copy).
        status: HTTP status of the answer.
        error_code: ``__type`` of an error answer, None on success.
        at: ``time.time()`` when the request arrived.
    """

    operation: str
    body: dict[str, Any]
    status: int
    error_code: str | None
    at: float


class RequestLog:
    """Thread-safe list of :class:`RequestRecord` plus per-operation counters."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []
        self._counts: Counter[str] = Counter()

    def add(self, operation: str, body: dict[str, Any], status: int, error: str | None) -> None:
        """Record one answered request."""
        record = RequestRecord(operation, copy.deepcopy(body), status, error, time.time())
        with self._lock:
            self._records.append(record)
            self._counts[operation] += 1

    def records(self, operation: str | None = None) -> list[RequestRecord]:
        """Every request so far (of ``operation`` only, if given), oldest first."""
        with self._lock:
            return [r for r in self._records if operation is None or r.operation == operation]

    def bodies(self, operation: str) -> list[dict[str, Any]]:
        """The request bodies of ``operation``, oldest first (copies, safe to change)."""
        return [copy.deepcopy(r.body) for r in self.records(operation)]

    def count(self, operation: str, *, job_name: str | None = None) -> int:
        """How many ``operation`` calls arrived (about ``job_name`` only, if given)."""
        if job_name is None:
            with self._lock:
                return self._counts[operation]
        return sum(1 for r in self.records(operation) if r.body.get("TrainingJobName") == job_name)

    def counts(self) -> dict[str, int]:
        """A snapshot of every operation's call count."""
        with self._lock:
            return dict(self._counts)

    def clear(self) -> None:
        """Forget every record and count."""
        with self._lock:
            self._records.clear()
            self._counts.clear()
