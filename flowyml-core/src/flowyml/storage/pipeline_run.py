"""The outcome of a pipeline run as the user sees it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from flowyml.errors import FlowyMLError
from flowyml.records.results import ExecutionResult
from flowyml.records.status import ExecutionStatus
from flowyml.storage.artifact import Artifact

__all__ = ["OutputNotAvailable", "PipelineRun"]


class OutputNotAvailable(FlowyMLError, KeyError):
    """A run has no value for this output; the message says why (a ``KeyError`` too)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class RunOutputs(Mapping[str, Any]):
    """Artifact name -> value; stored values are read on first access."""

    def __init__(self, artifacts: dict[str, Artifact], run: PipelineRun | None = None) -> None:
        self._artifacts = artifacts
        self._run = run

    def __getitem__(self, name: str) -> Any:
        artifact = self._artifacts.get(name)
        if artifact is None:
            raise OutputNotAvailable(self._why_missing(name))
        return artifact.value

    def _why_missing(self, name: str) -> str:
        run = self._run
        producer = run.producers.get(name) if run is not None else None
        if run is None or producer is None:
            known = ", ".join(sorted(self._artifacts)) or "none"
            return f"no output named '{name}'; outputs of this run: {known}"
        result = run.step_results.get(producer)
        if result is None:
            return (
                f"output '{name}' of step '{producer}' is not available: the step did not run "
                f"(run {run.status.value}: {run.error or 'stopped before it'})"
            )
        if result.skipped:
            return (
                f"output '{name}' of step '{producer}' is not available: the step was skipped "
                "(its condition was false, or an input it needs was skipped)"
            )
        return (
            f"output '{name}' of step '{producer}' is not available: the step {result.status.value}"
            + (f": {result.error}" if result.error else "")
        )

    def __iter__(self) -> Iterator[str]:
        return iter(self._artifacts)

    def __len__(self) -> int:
        return len(self._artifacts)

    def uri(self, name: str) -> str | None:
        """Where an output is stored, if it is."""
        return self._artifacts[name].uri

    def __repr__(self) -> str:
        return f"RunOutputs({list(self._artifacts)})"


@dataclass
class PipelineRun:
    """A finished (or failed) run.

    Attributes:
        run_id: the run id (see ``flowyml runs show``).
        pipeline_name: the pipeline's name.
        backend: the backend it ran on.
        status: the final status.
        step_results: step name -> result, for every step that was attempted.
        not_run: steps never started (upstream failed, or fail-fast stopped the run).
        duration_seconds: wall time.
        error: why the run failed, in one line.
        producers: output name -> the step that produces it.
        params: the run's parameters as recorded (``{"params": ..., "overrides": ...}``).
    """

    run_id: str
    pipeline_name: str
    backend: str
    status: ExecutionStatus
    step_results: dict[str, ExecutionResult]
    artifacts: dict[str, Artifact] = field(default_factory=dict, repr=False)
    not_run: list[str] = field(default_factory=list)
    duration_seconds: float = 0.0
    error: str | None = None
    producers: dict[str, str] = field(default_factory=dict, repr=False)
    params: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def success(self) -> bool:
        """Whether every step succeeded (cached and skipped count as success)."""
        return self.status.is_successful

    @property
    def outputs(self) -> RunOutputs:
        """Artifact name -> value of every output produced or reused by the run."""
        return RunOutputs(self.artifacts, self)

    @property
    def failed_steps(self) -> list[str]:
        """Names of the steps that failed."""
        return [name for name, r in self.step_results.items() if not r.success]

    def __repr__(self) -> str:
        return (
            f"PipelineRun({self.pipeline_name!r}, run_id={self.run_id!r}, "
            f"status={self.status.value}, steps={len(self.step_results)})"
        )
