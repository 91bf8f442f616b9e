"""The ``RemoteOrchestrator`` contract: hand a whole pipeline run to another system."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from flowyml.errors import RunNotFoundError
from flowyml.execution.priced import MachineCatalogs
from flowyml.records.listener import RunListener
from flowyml.records.resources import DockerConfig, ResourceConfig
from flowyml.records.results import ExecutionResult, SubmissionResult
from flowyml.records.status import ExecutionStatus

__all__ = ["RemoteOrchestrator", "RemoteOrchestratorConfig", "SubmitOptions"]


@dataclass(frozen=True)
class SubmitOptions:
    """What ``Pipeline.run`` hands a remote orchestrator beyond the seed's arguments.

    Attributes:
        stack: the stack (artifact store, cache switch...), or ``None`` when called directly.
        fail_fast: stop the run at the first failure.
        listener: receives progress events.
        resume_from: a failed run whose completed steps are reused.
        echo_logs: print what the steps print.
    """

    stack: Any = None
    fail_fast: bool = True
    listener: RunListener | None = None
    resume_from: str | None = None
    echo_logs: bool = True

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, Any]) -> SubmitOptions:
        """Read the options from ``run_pipeline``'s keyword arguments."""
        stack = kwargs.get("stack")
        fail_fast = kwargs.get("fail_fast")
        if fail_fast is None:
            fail_fast = stack.fail_fast if stack is not None else True
        return cls(
            stack=stack,
            fail_fast=bool(fail_fast),
            listener=kwargs.get("listener"),
            resume_from=kwargs.get("resume_from"),
            echo_logs=bool(kwargs.get("echo_logs", True)),
        )

    @property
    def use_cache(self) -> bool:
        """Whether cacheable steps may reuse results (the stack's switch; on by default)."""
        return bool(self.stack.cache) if self.stack is not None else True


class RemoteOrchestratorConfig(BaseModel):
    """Settings every remote orchestrator accepts; backends extend this model."""

    model_config = ConfigDict(extra="forbid")


class RemoteOrchestrator(MachineCatalogs, ABC):
    """An orchestrator that hands a whole pipeline run to another system.

    Subclasses set ``name`` and ``config_model`` like executors do.
    """

    name: ClassVar[str]
    # How plugin discovery tells the two kinds of backend apart without importing them.
    backend_kind: ClassVar[str] = "orchestrator"
    config_model: ClassVar[type[BaseModel]] = RemoteOrchestratorConfig

    @classmethod
    def from_config(cls, settings: dict[str, Any] | None = None) -> RemoteOrchestrator:
        """Build the orchestrator from validated settings (raises pydantic errors)."""
        config = cls.config_model.model_validate(settings or {})
        return cls(**config.model_dump(exclude_unset=True))

    @abstractmethod
    def run_pipeline(
        self,
        pipeline: Any,
        run_id: str,
        resources: ResourceConfig | None = None,
        docker_config: DockerConfig | None = None,
        inputs: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> SubmissionResult:
        """Submit a pipeline run; returns at once with the submission's handle."""

    @abstractmethod
    def get_run_status(self, job_id: str) -> ExecutionStatus:
        """Status of a submitted run."""

    @abstractmethod
    def get_run_details(self, job_id: str) -> dict[str, Any]:
        """Full details of a submitted run: timing, resources, errors, per-group jobs."""

    @abstractmethod
    def get_run_logs(self, job_id: str, max_entries: int = 200) -> str:
        """The run's log lines as text."""

    @abstractmethod
    def stream_logs(self, job_id: str, poll_interval: float = 5.0) -> Iterator[dict[str, Any]]:
        """Yield dicts with timestamp, severity, message and is_finished as logs arrive."""

    @abstractmethod
    def stop_run(self, job_id: str, graceful: bool = True) -> None:
        """Stop a submitted run."""

    @abstractmethod
    def validate(self) -> bool:
        """Whether the configuration and the target system are usable."""

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """The orchestrator's configuration as plain data (no secrets)."""

    def step_results(self, job_id: str) -> dict[str, ExecutionResult]:
        """The results of a finished run's steps; by default read from the run store."""
        from flowyml.project.folder import open_project
        from flowyml.project.history import result_from_record

        store = open_project().run_store
        for candidate in (job_id, job_id.rsplit("/", 1)[-1]):
            try:
                record = store.get_run(candidate)
            except RunNotFoundError:
                continue
            return {s.step: result_from_record(s) for s in record.steps}
        return {}
