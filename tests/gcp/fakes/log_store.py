"""The in-process log store shared by the fake Vertex AI and the fake Cloud Logging.

The fake Vertex appends each line its job containers print; the fake Cloud Logging serves
them. Records are kept sorted by ``(timestamp, insert_id)`` — the order Cloud Logging
returns — and the store gives every record a timestamp strictly greater than the previous
one's, so ``timestamp>"LAST"`` polling never skips or repeats a line.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote

__all__ = ["LogRecord", "LogStore"]


@dataclass(frozen=True)
class LogRecord:
    """One log entry, in Cloud Logging's terms.

    Attributes:
        insert_id: Unique, zero-padded decimal: increases with every append.
        timestamp_ns: Nanoseconds since the epoch (UTC).
        project: Project ID the entry belongs to.
        log_id: The log's short name, e.g. ``workerpool0-0``.
        resource_type: Monitored resource type, e.g. ``ml_job``.
        resource_labels: Monitored resource labels, e.g. ``{"job_id": "123"}``.
        severity: LogSeverity name, e.g. ``INFO`` or ``ERROR``.
        text: The text payload (one line, without its newline).
        labels: The entry's own labels.
    """

    insert_id: str
    timestamp_ns: int
    project: str
    log_id: str
    resource_type: str
    resource_labels: Mapping[str, str]
    severity: str
    text: str
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def log_name(self) -> str:
        """``projects/P/logs/LOG_ID`` with the log id URL-encoded, as Cloud Logging names it."""
        return f"projects/{self.project}/logs/{quote(self.log_id, safe='')}"

    @property
    def sort_key(self) -> tuple[int, str]:
        """Cloud Logging's ascending order: timestamp, then insert_id."""
        return (self.timestamp_ns, self.insert_id)


class LogStore:
    """Thread-safe, ordered list of :class:`LogRecord`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[LogRecord] = []
        self._keys: list[tuple[int, str]] = []
        self._sequence = 0
        self._last_ns = 0

    def append(
        self,
        *,
        project: str,
        log_id: str,
        resource_type: str,
        resource_labels: Mapping[str, str],
        severity: str,
        text: str,
        labels: Mapping[str, str] | None = None,
        timestamp_ns: int | None = None,
    ) -> LogRecord:
        """Store one entry and return it.

        Args:
            timestamp_ns: The entry's time; None means now, made strictly later than
                every entry stored so far.

        Returns:
            The stored record, with its insert_id.
        """
        with self._lock:
            self._sequence += 1
            if timestamp_ns is None:
                timestamp_ns = max(time.time_ns(), self._last_ns + 1)
            self._last_ns = max(self._last_ns, timestamp_ns)
            record = LogRecord(
                insert_id=f"{self._sequence:012d}",
                timestamp_ns=timestamp_ns,
                project=project,
                log_id=log_id,
                resource_type=resource_type,
                resource_labels=dict(resource_labels),
                severity=severity,
                text=text,
                labels=dict(labels or {}),
            )
            index = bisect.bisect_right(self._keys, record.sort_key)
            self._keys.insert(index, record.sort_key)
            self._records.insert(index, record)
            return record

    def records(self) -> list[LogRecord]:
        """A snapshot of every record, in ascending (timestamp, insert_id) order."""
        with self._lock:
            return list(self._records)

    def texts(self, resource_label: str, value: str) -> list[str]:
        """The text of the records whose resource label ``resource_label`` equals ``value``."""
        return [r.text for r in self.records() if r.resource_labels.get(resource_label) == value]

    def clear(self) -> None:
        """Forget every record (insert ids keep increasing)."""
        with self._lock:
            self._records.clear()
            self._keys.clear()
