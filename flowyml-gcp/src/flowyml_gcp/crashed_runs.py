"""Clean-up after a ``vertex_ai`` run whose owning process died: its jobs are cancelled.

The process that submits a run follows each group's CustomJob and cancels them when the
run is stopped. When that process is killed (SIGKILL, the OOM killer, a lost machine),
its jobs run on, and are billed, with nobody following them. The next reader of the run
store marks such a run ``crashed`` and calls the ``flowyml_run_crashed`` hook (see
:mod:`flowyml_gcp.plugin`), which cancels every unfinished job labelled with the run's
id, as ``stop_run`` does for a run submitted by another process
(:meth:`~flowyml_gcp.run_queries.JobQueries.cancel_run_jobs`).

The hook is not told the run's stack, so the JobService of every ``vertex_ai`` stack of
the project is asked, each with the settings the backend reads from that stack. Whoever
reads the run store waits for this, so every call gives up quickly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import ValidationError

from flowyml.backend import BackendError, ConfigError
from flowyml_gcp.api import GoogleApis, is_transient
from flowyml_gcp.config import VertexAIConfig
from flowyml_gcp.run_queries import JobQueries

__all__ = ["cancel_crashed_run_jobs", "stack_configs"]

T = TypeVar("T")

# How long one call may take, and how long its retries may go on, during clean-up.
CALL_TIMEOUT_SECONDS = 5.0
CLEANUP_DEADLINE_SECONDS = 10.0


def stack_configs() -> list[VertexAIConfig]:
    """The settings of each ``vertex_ai`` stack of the project, one per JobService
    endpoint and project/region; stacks whose settings are invalid or name no project are
    left out (the backend could not have run jobs with them)."""
    from flowyml.backend import load_config

    try:
        stacks = load_config().stacks.values()
    except ConfigError:
        # The run store was readable without this file; no stack, no job to look for.
        return []
    configs: dict[tuple[str, str], VertexAIConfig] = {}
    for stack in stacks:
        if stack.backend != "vertex_ai":
            continue
        try:
            config = VertexAIConfig.model_validate(stack.settings)
        except ValidationError:
            continue
        if config.project_id:
            configs.setdefault((config.vertex_address, config.parent), config)
    return list(configs.values())


class _CleanupApis(GoogleApis):
    """The backend's API clients, with a bounded time for each call and its retries."""

    def __init__(self, config: VertexAIConfig) -> None:
        deadline = min(config.retry_deadline_seconds, CLEANUP_DEADLINE_SECONDS)
        super().__init__(config.model_copy(update={"retry_deadline_seconds": deadline}))

    def call(self, method: str, fn: Callable[..., T], action: str, **kwargs: Any) -> T:
        return super().call(method, fn, action, timeout=CALL_TIMEOUT_SECONDS, **kwargs)

    def close(self) -> None:
        """Close the JobService channel, if one was opened."""
        if self._jobs is not None:
            self._jobs.transport.close()


def _unreachable(exc: BackendError) -> bool:
    from google.api_core.exceptions import RetryError

    cause = exc.__cause__
    if isinstance(cause, RetryError):
        cause = cause.cause
    return cause is not None and is_transient(cause)


def cancel_crashed_run_jobs(run_id: str, configs: list[VertexAIConfig] | None = None) -> list[str]:
    """Cancel every unfinished CustomJob labelled with ``run_id``.

    Args:
        run_id: the crashed run.
        configs: the settings to look with (default: :func:`stack_configs`).

    Returns:
        The resource names of the jobs cancelled.

    Raises:
        BackendError: Vertex AI refused a request (permission denied, no credentials...)
            and no job was cancelled with any other settings. An endpoint that does not
            answer is not an error.
    """
    cancelled: list[str] = []
    refused: BackendError | None = None
    for config in stack_configs() if configs is None else configs:
        apis = _CleanupApis(config)
        try:
            cancelled += JobQueries(apis).cancel_run_jobs(run_id)
        except BackendError as exc:
            if _unreachable(exc):
                # Safe to skip: the run is recorded crashed either way, and its jobs end on
                # their own, when their steps return or at the steps' timeout (the job's);
                # what they write then is named by no record. Reading the run store
                # offline must neither fail nor warn because of that.
                continue
            refused = refused or exc
        finally:
            apis.close()
    if refused is not None and not cancelled:
        raise refused
    return cancelled
