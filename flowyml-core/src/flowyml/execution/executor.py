"""The ``Executor`` contract: run one step, or one group of steps, somewhere.

Executors run steps; they never schedule a DAG (that is the
:class:`~flowyml.execution.scheduler.Scheduler`'s job).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from flowyml.definition.context import Context
from flowyml.execution.priced import MachineCatalogs
from flowyml.execution.run_step import split_outputs
from flowyml.records.results import ExecutionResult
from flowyml.storage.artifact import Artifact

__all__ = ["Executor", "ExecutorConfig"]


class ExecutorConfig(BaseModel):
    """Settings every executor accepts; backends extend this model."""

    model_config = ConfigDict(extra="forbid")


class Executor(MachineCatalogs, ABC):
    """Base executor for running pipeline steps.

    Subclasses set ``name`` (the backend name users select) and ``config_model`` (the
    pydantic model validating their settings; its fields are constructor arguments).

    Attributes:
        max_workers: how many steps or groups the orchestrator may run at once.
        passes_by_reference: outputs come back as live objects (in-process executors);
            otherwise they come back as artifact URIs only.
    """

    name: ClassVar[str]
    # How plugin discovery tells the two kinds of backend apart without importing them.
    backend_kind: ClassVar[str] = "executor"
    config_model: ClassVar[type[BaseModel]] = ExecutorConfig
    max_workers: int = 1
    passes_by_reference: bool = False

    def cancel(self) -> None:
        """Stop every step this executor is running now (called on Ctrl-C or a stop).

        Executors that run steps elsewhere kill them here; the default does nothing.
        """

    def check_pipeline(self, steps: list[Any], context: Context) -> None:
        """Raise for anything about these steps this executor cannot run, before any runs.

        The orchestrator calls it first, so a pipeline this backend cannot run fails before
        its first step rather than halfway through. The default accepts everything.

        Raises:
            PipelineDefinitionError: naming the step and what to change.
        """

    def end_run(self, run_id: str) -> None:
        """Release what this executor opened for run ``run_id`` (a cluster, a pool).

        The scheduler calls it once the run's end is recorded, however the run ended;
        what it raises is reported as a warning and changes nothing recorded. The
        default holds nothing.
        """

    @classmethod
    def from_config(cls, settings: dict[str, Any] | None = None) -> Executor:
        """Build the executor from validated settings (raises pydantic errors)."""
        config = cls.config_model.model_validate(settings or {})
        return cls(**config.model_dump(exclude_unset=True))

    @abstractmethod
    def execute_step(
        self,
        step: Any,
        inputs: dict[str, Any],
        context_params: dict[str, Any],
        cache_store: Any | None = None,
        artifact_store: Any | None = None,
        run_id: str | None = None,
        project_name: str = "default",
        all_outputs: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """Execute a single step.

        Args:
            step: Step to execute.
            inputs: Input data for the step (values or ``Artifact`` objects).
            context_params: Parameters from context.
            cache_store: Cache store for caching.
            artifact_store: Artifact store for logging results.
            run_id: Unique ID for this pipeline run.
            project_name: Name of the project.
            all_outputs: Collection of all step outputs for conditional evaluation.

        Returns:
            ExecutionResult with output or error.
        """

    def execute_step_group(
        self,
        step_group: Any,
        inputs: dict[str, Any],
        context: Any | None = None,
        context_params: dict[str, Any] | None = None,
        cache_store: Any | None = None,
        artifact_store: Any | None = None,
        run_id: str | None = None,
        project_name: str = "default",
    ) -> list[ExecutionResult]:
        """Execute a group of steps together.

        The default runs the members in order through :meth:`execute_step`, feeding each
        step the outputs of the members before it; the group stops at the first failure.

        Args:
            step_group: StepGroup to execute.
            inputs: Input data available to the group.
            context: Context object for per-step parameter injection (preferred).
            context_params: Parameters from context (deprecated, use context instead).
            cache_store: Cache store for caching.
            artifact_store: Artifact store for materialization.
            run_id: Run identifier.
            project_name: Project name.

        Returns:
            List of ExecutionResult (one per step in execution order; steps after a
            failure are absent).
        """
        available: dict[str, Any] = dict(inputs)
        results: list[ExecutionResult] = []
        for member in step_group.steps:
            params = params_for(member.name, context, context_params)
            step_inputs = {name: available[name] for name in member.inputs if name in available}
            result = self.execute_step(
                member,
                step_inputs,
                params,
                cache_store=cache_store,
                artifact_store=artifact_store,
                run_id=run_id,
                project_name=project_name,
                all_outputs=available,
            )
            results.append(result)
            if not result.success:
                break
            available.update(result_artifacts(member, result))
        return results


def params_for(
    step_name: str, context: Any | None, context_params: dict[str, Any] | None
) -> dict[str, Any]:
    """The parameters one step sees, from a ``Context`` or a plain dict."""
    if isinstance(context, Context):
        base = context.for_step(step_name)
        return {**base, **context_params} if context_params else base
    if isinstance(context, dict):
        return {**context, **(context_params or {})}
    return dict(context_params or {})


def result_artifacts(step: Any, result: ExecutionResult) -> dict[str, Artifact]:
    """The outputs of a successful result as artifacts (live values when present)."""
    if result.skipped or not step.outputs:
        return {}
    if result.cached or (result.output is None and result.outputs):
        return {
            name: Artifact.from_result(name, result.cache_key, result.outputs.get(name))
            for name in step.outputs
        }
    values = split_outputs(step, result.output)
    return {
        name: Artifact.from_result(name, result.cache_key, result.outputs.get(name), value)
        for name, value in values.items()
    }
