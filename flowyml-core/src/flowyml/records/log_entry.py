"""Log entries of remote runs: what ``stream_logs`` yields and ``get_run_logs`` prints.

Every backend reports the lines of its containers or jobs, and lines of its own (a job
created, a run stopped), as the same record, so that the CLI, the dashboard and tests
read one shape whatever produced it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flowyml.records.status import ExecutionStatus

__all__ = ["LogEntry", "log_text", "now_iso"]


def now_iso() -> str:
    """The current UTC time in ISO 8601."""
    return datetime.now(UTC).isoformat()


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One log line of a run.

    Attributes:
        message: the line, without its newline (secret values already masked).
        group: the step group that printed it; ``None`` for the backend's own lines.
        severity: ``DEBUG``, ``INFO``, ``WARNING`` or ``ERROR``.
        timestamp: when it was printed, ISO 8601.
        is_finished: the last entry of a stream: the run has ended.
    """

    message: str
    group: str | None = None
    severity: str = "INFO"
    timestamp: str = field(default_factory=now_iso)
    is_finished: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The entry as ``stream_logs`` yields it."""
        return {
            "timestamp": self.timestamp,
            "severity": self.severity,
            "message": self.message,
            "group": self.group,
            "is_finished": self.is_finished,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LogEntry:
        """Inverse of :meth:`to_dict`."""
        return cls(
            str(data.get("message", "")),
            data.get("group"),
            str(data.get("severity") or "INFO"),
            str(data.get("timestamp") or now_iso()),
            bool(data.get("is_finished", False)),
        )

    def line(self) -> str:
        """The entry as one line of ``get_run_logs``."""
        return f"{self.timestamp} {self.severity} [{self.group or 'run'}] {self.message}"

    @classmethod
    def run_ended(cls, what: str, status: ExecutionStatus) -> LogEntry:
        """The last entry of a stream: ``what`` (a run or job) ended with ``status``."""
        severity = "INFO" if status.is_successful else "ERROR"
        return cls(f"{what} {status.value}", None, severity, now_iso(), True)


def log_text(entries: Sequence[LogEntry], max_entries: int) -> str:
    """The last ``max_entries`` entries as ``get_run_logs`` returns them."""
    if max_entries <= 0:
        return ""
    return "\n".join(entry.line() for entry in entries[-max_entries:])
