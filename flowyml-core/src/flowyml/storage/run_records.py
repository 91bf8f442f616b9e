"""What the run store returns: runs, step runs and crashed runs as stored."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flowyml.records.status import ExecutionStatus
from flowyml.records.usage import ResourceUsage

__all__ = ["CrashedRun", "RunRecord", "StepRecord"]


@dataclass
class StepRecord:
    """One step of one run, as stored."""

    step: str
    status: ExecutionStatus
    started_at: float | None
    finished_at: float | None
    duration: float | None
    retries: int
    cached: bool
    skipped: bool
    error: str | None
    traceback: str | None
    outputs: dict[str, dict[str, Any]]
    exit_code: int | None
    cache_key: str | None
    resume_key: str | None = None  # the key of a step that ran without a cache key
    usage: ResourceUsage | None = None  # what the step consumed, when it was measured

    def summary(self) -> dict[str, Any]:
        """The facts a backend's ``get_run_details`` reports for the step."""
        return {
            "status": self.status.value,
            "duration_seconds": self.duration,
            "exit_code": self.exit_code,
            "retries": self.retries,
            "cached": self.cached,
            "error": self.error,
            "traceback": self.traceback,
            "usage": None if self.usage is None else self.usage.to_dict(),
        }


@dataclass
class RunRecord:
    """One run, as stored."""

    run_id: str
    pipeline: str
    backend: str
    status: ExecutionStatus
    started_at: float
    finished_at: float | None
    params: dict[str, Any]
    error: str | None
    project: str
    resumed_from: str | None
    pipeline_ref: str | None
    steps: list[StepRecord] = field(default_factory=list)

    @property
    def duration(self) -> float | None:
        """Wall time of the run in seconds, once finished."""
        return None if self.finished_at is None else self.finished_at - self.started_at


@dataclass(frozen=True)
class CrashedRun:
    """A run :meth:`RunStore.reconcile_crashed` just marked ``crashed``.

    Attributes:
        run_id: the run.
        backend: the backend that ran it, whose resources (containers, cloud jobs) may
            outlive the process that died.
        error: why the run was marked crashed.
    """

    run_id: str
    backend: str
    error: str
