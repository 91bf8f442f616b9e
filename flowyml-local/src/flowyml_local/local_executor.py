"""The ``local`` backend: steps run in this process, outputs passed by reference."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

from pydantic import Field

from flowyml.backend import ExecutionResult, Executor, ExecutorConfig, execute_step_in_process

__all__ = ["LocalExecutor", "LocalExecutorConfig"]

_NO_RELAY = nullcontext()  # reusable: one per step would be built for nothing


class LocalExecutorConfig(ExecutorConfig):
    """Settings of the ``local`` backend.

    Attributes:
        max_workers: how many independent steps may run at once (threads).
        echo_logs: also print what steps print, while they run (their output is captured
            either way).
    """

    max_workers: int = Field(default=64, ge=1, le=1024)
    echo_logs: bool = True


class LocalExecutor(Executor):
    """Local executor - runs steps in the current process.

    Independent steps run concurrently on threads; values travel by reference (zero
    copy); retries, timeouts, caching, conditions and materialization come from the
    shared step engine.
    """

    name = "local"
    config_model = LocalExecutorConfig
    passes_by_reference = True

    #: Where echoed output goes instead of this process's stdout and stderr: set by
    #: ``Pipeline.run`` when its caller listens, to a relay whose ``capture(step_name)``
    #: sends the output of a step run inside it to the listener's ``step_output``.
    step_output: Any = None

    def __init__(self, max_workers: int = 64, echo_logs: bool = True) -> None:
        self.max_workers = max_workers
        self.echo_logs = echo_logs

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
        """Execute step locally with retry, caching, and materialization.

        Args:
            step: Step to execute.
            inputs: Input data for the step.
            context_params: Parameters from context.
            cache_store: Cache store for caching.
            artifact_store: Artifact store for logging results.
            run_id: Unique ID for this pipeline run.
            project_name: Name of the project.
            all_outputs: Collection of all step outputs for conditional evaluation.

        Returns:
            ExecutionResult with output or error.
        """
        relay = self.step_output if self.echo_logs else None
        with relay.capture(step.name) if relay is not None else _NO_RELAY:
            return execute_step_in_process(
                step,
                inputs,
                context_params,
                cache_store=cache_store,
                artifact_store=artifact_store,
                run_id=run_id,
                project_name=project_name,
                all_outputs=all_outputs,
                echo_logs=self.echo_logs,
            )
