"""Records of what happened: per-step results and remote submissions."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from flowyml.errors import FlowyMLError
from flowyml.records.artifact_ref import ArtifactRef
from flowyml.records.status import ExecutionStatus
from flowyml.records.usage import ResourceUsage

__all__ = ["ExecutionResult", "SubmissionResult", "WaitTimeoutError", "built_result"]


class WaitTimeoutError(FlowyMLError, TimeoutError):
    """``SubmissionResult.wait`` ran out of time before the run finished."""


class ExecutionResult(BaseModel):
    """The outcome of one step execution.

    Attributes:
        step_name: the step's name.
        success: whether the step succeeded (a cached or skipped step counts as success).
        output: the value the step returned (``None`` on failure or when skipped).
        error: a one-line description of the failure.
        traceback: the formatted traceback of the failure.
        duration_seconds: wall time of the execution, retries included.
        cached: the output came from the cache; the step did not run.
        skipped: the step's condition was false, or an input it needs was skipped.
        artifact_uri: where the output was written, when it was persisted.
        retries: how many times the step was retried.
        started_at: when execution started.
        finished_at: when execution finished.
        outputs: output name -> artifact URI, for every persisted output.
        exit_code: the exit code of the process that ran the step, when isolated.
        logs: the step's captured stdout and stderr.
        cache_key: the cache key the execution was looked up and recorded under.
        cancelled: the step was stopped because its run was interrupted or stopped.
        lost_inputs: inputs whose stored artifacts were missing or unreadable, so the step
            could not start.
        usage: what the step consumed (time, CPU, memory), where it was measured.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    step_name: str
    success: bool
    output: Any = None
    error: str | None = None
    traceback: str | None = None
    duration_seconds: float = 0.0
    cached: bool = False
    skipped: bool = False
    artifact_uri: str | None = None
    retries: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    outputs: dict[str, str] = Field(default_factory=dict)
    exit_code: int | None = None
    logs: str = ""
    cache_key: str | None = None
    cancelled: bool = False
    lost_inputs: list[str] = []  # a plain default: a factory costs a signature look-up per result
    usage: ResourceUsage | None = None

    def load_output(self, name: str | None = None) -> Any:
        """The output value, read from the artifact store when the result carries no value.

        Args:
            name: which output (default: the first).
        """
        if self.output is not None and name is None:
            return self.output
        uri = self.outputs.get(name) if name else self.artifact_uri
        if uri is None:
            return self.output
        return ArtifactRef(uri, "", 0).load()

    @property
    def status(self) -> ExecutionStatus:
        """The status this result stands for."""
        if not self.success:
            return ExecutionStatus.CANCELLED if self.cancelled else ExecutionStatus.FAILED
        if self.skipped:
            return ExecutionStatus.SKIPPED
        if self.cached:
            return ExecutionStatus.CACHED
        return ExecutionStatus.SUCCESS


# Defaults of every field but ``outputs`` (a fresh dict each time), for built_result.
_RESULT_DEFAULTS = {
    name: field.default
    for name, field in ExecutionResult.model_fields.items()
    if field.default_factory is None and not field.is_required()
}
_set_attribute = object.__setattr__


def built_result(**fields: Any) -> ExecutionResult:
    """An :class:`ExecutionResult` of fields the caller built with the right types, as
    ``ExecutionResult.model_construct`` makes it, at a fraction of its cost (it runs once
    per step, and model_construct alone cost more than the rest of a trivial step's
    bookkeeping)."""
    result = ExecutionResult.__new__(ExecutionResult)
    values = {**_RESULT_DEFAULTS, "outputs": {}}
    values.update(fields)
    _set_attribute(result, "__dict__", values)
    _set_attribute(result, "__pydantic_fields_set__", set(fields))
    _set_attribute(result, "__pydantic_extra__", None)
    _set_attribute(result, "__pydantic_private__", None)
    return result


class SubmissionResult(BaseModel):
    """What a remote orchestrator returns when it accepts a pipeline run.

    The submission returns at once; :meth:`wait` blocks until the run finishes.

    Attributes:
        job_id: the backend's identifier of the whole run.
        run_id: the FlowyML run id.
        orchestrator: the backend name.
        group_job_ids: step group name -> backend job id, as groups are submitted.
        metadata: backend-specific facts (image, region, console URL...).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    job_id: str
    run_id: str
    orchestrator: str
    group_job_ids: dict[str, str] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)

    _status_fn: Callable[[], ExecutionStatus] | None = PrivateAttr(default=None)
    _wait_fn: Callable[[float | None], ExecutionStatus] | None = PrivateAttr(default=None)

    def bind(
        self,
        status_fn: Callable[[], ExecutionStatus],
        wait_fn: Callable[[float | None], ExecutionStatus] | None = None,
    ) -> SubmissionResult:
        """Attach the callables that query the backend; returns ``self``."""
        self._status_fn = status_fn
        self._wait_fn = wait_fn
        return self

    def status(self) -> ExecutionStatus:
        """The current status of the run, asked of the backend."""
        if self._status_fn is None:
            return ExecutionStatus.UNKNOWN
        return self._status_fn()

    def wait(self, timeout: float | None = None, poll_interval: float = 0.2) -> ExecutionStatus:
        """Block until the run finishes and return its final status.

        Args:
            timeout: seconds to wait at most; ``None`` waits for ever.
            poll_interval: first polling interval when the backend offers no blocking wait;
                it doubles up to 5 seconds.

        Raises:
            WaitTimeoutError: the run did not finish within ``timeout`` seconds.
        """
        if self._wait_fn is not None:
            return self._wait_fn(timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        interval = poll_interval
        while True:
            state = self.status()
            if state.is_finished:
                return state
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise WaitTimeoutError(
                        f"run {self.run_id} ({self.orchestrator} job {self.job_id}) "
                        f"still {state.value} after {timeout} s"
                    )
                time.sleep(min(interval, remaining))
            else:
                time.sleep(interval)
            interval = min(interval * 2, 5.0)
