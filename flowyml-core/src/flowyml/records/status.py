"""Execution status shared by runs, step runs and remote jobs."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ExecutionStatus"]


class ExecutionStatus(StrEnum):
    """Lifecycle state of a run, a step or a remote job."""

    PENDING = "pending"
    QUEUED = "queued"
    PROVISIONING = "provisioning"
    RUNNING = "running"
    CANCELLING = "cancelling"
    SUCCESS = "success"
    CACHED = "cached"
    SKIPPED = "skipped"
    FAILED = "failed"
    CANCELLED = "cancelled"
    CRASHED = "crashed"  # the process that ran it died without recording an end
    UNKNOWN = "unknown"

    @property
    def is_finished(self) -> bool:
        """True once the state can no longer change."""
        return self in _FINISHED

    @property
    def is_successful(self) -> bool:
        """True for states that count as a successful completion."""
        return self in _SUCCESSFUL

    @property
    def is_failed(self) -> bool:
        """True for states that count as a failure (including cancellation and crashes)."""
        return self in _FAILED


_SUCCESSFUL = frozenset({ExecutionStatus.SUCCESS, ExecutionStatus.CACHED, ExecutionStatus.SKIPPED})
_FAILED = frozenset({ExecutionStatus.FAILED, ExecutionStatus.CANCELLED, ExecutionStatus.CRASHED})
_FINISHED = _SUCCESSFUL | _FAILED
