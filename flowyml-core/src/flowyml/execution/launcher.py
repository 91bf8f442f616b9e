"""Executors that run steps elsewhere through the step runner (subprocess, container...).

:class:`TaskExecutor` holds everything such executors share: the cache check in the
caller's process, writing the group's task, reading the result manifest back, and
turning a crash, a kill or a timeout of the environment into failed results that name
the exit code or signal. A backend implements one method, :meth:`TaskExecutor.launch`,
that runs the step-runner command in its environment.
"""

from __future__ import annotations

import os
import signal
import time
from abc import abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flowyml.definition.context import Context
from flowyml.errors import PipelineDefinitionError
from flowyml.execution.executor import Executor, params_for
from flowyml.execution.run_step import lookup_cache
from flowyml.execution.run_tracker import RunTracker
from flowyml.execution.step_runner import read_manifest, step_runner_args, write_task
from flowyml.records.results import ExecutionResult
from flowyml.records.usage import ResourceUsage
from flowyml.storage.artifact_store import ArtifactStore

__all__ = ["LaunchOutcome", "TaskExecutor", "describe_exit"]


@dataclass
class LaunchOutcome:
    """How one launch of the step runner ended.

    Attributes:
        exit_code: the exit code; negative for "killed by that signal".
        logs: everything the environment printed.
        timed_out: the launch was killed for exceeding its timeout.
        cancelled: the launch was stopped (or never started) because its run was stopped.
        reason: a backend's own words for an abnormal end (e.g. "killed for memory").
        usage: what the whole launch consumed, as the backend measured it from outside
            (the child's rusage, a container killed for memory); it is recorded for the
            step a crash stopped, which wrote no result of its own.
    """

    exit_code: int
    logs: str = ""
    timed_out: bool = False
    reason: str | None = None
    cancelled: bool = False
    usage: ResourceUsage | None = None


def describe_exit(code: int) -> str:
    """Human words for an exit status (negative: killed by that signal; 128+N likewise)."""
    signum = -code if code < 0 else code - 128 if 128 < code < 160 else None
    if signum is not None:
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = f"signal {signum}"
        return f"killed by {name} (exit code {code})"
    return f"exited with code {code}"


class TaskExecutor(Executor):
    """Base of executors that run each step or group through ``flowyml step-runner``."""

    @abstractmethod
    def launch(
        self,
        args: list[str],
        *,
        run_id: str,
        group: str,
        timeout: float | None,
        artifact_store: ArtifactStore,
        resources: Any,
    ) -> LaunchOutcome:
        """Run ``flowyml`` with ``args`` in the target environment and wait for it.

        Args:
            args: arguments after the ``flowyml`` program name.
            run_id: the run (for labels).
            group: the group name (for labels).
            timeout: seconds before the launch must be killed, or ``None``.
            artifact_store: the store the task and manifest live in.
            resources: the group's ``ResourceConfig``.
        """

    #: The pipeline's ``MODULE:ATTR`` in the target environment, when the backend knows it;
    #: otherwise the step runner imports each step by its own reference.
    pipeline_ref: str | None = None
    #: The run's tracker, when this executor works for a ``TrackedRemoteOrchestrator``:
    #: :meth:`run_steps` records each group's steps there before launching it.
    run_tracker: RunTracker | None = None

    def stopped_before_launch(self, group: str) -> LaunchOutcome | None:
        """When the run was stopped before ``group`` could start: the group recorded
        cancelled in the run tracker, and the outcome ``launch`` returns; else ``None``."""
        tracker = self.run_tracker
        if tracker is None or not tracker.is_cancelled():
            return None
        tracker.update(group, status="cancelled", error="not started: the run was stopped")
        return LaunchOutcome(
            -signal.SIGTERM, reason="was not started: the run was stopped", cancelled=True
        )

    def check_pipeline(self, steps: list[Any], context: Context) -> None:
        """Without a pipeline reference, every step must be importable by another process
        (a module-level variable)."""
        if self.pipeline_ref is None:
            self._step_references(steps)

    def artifact_store_uri(self, artifact_store: ArtifactStore) -> str:
        """The artifact store URI as seen from inside the target environment."""
        return artifact_store.root

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
        """Execute one step through the step runner (the cache is checked here first).

        Args:
            step: Step to execute.
            inputs: Input data for the step.
            context_params: Parameters from context.
            cache_store: Cache store for caching.
            artifact_store: Artifact store the step runner reads inputs from and writes to.
            run_id: Unique ID for this pipeline run.
            project_name: Name of the project.
            all_outputs: Collection of all step outputs for conditional evaluation.

        Returns:
            ExecutionResult with output references or error.
        """
        params = {k: context_params[k] for k in step.context_params if k in context_params}
        key, hit = lookup_cache(step, inputs, params, cache_store, artifact_store)
        if hit is not None:
            first = hit.get(step.outputs[0]) if step.outputs else None
            return ExecutionResult(
                step_name=step.name,
                success=True,
                cached=True,
                outputs=hit,
                artifact_uri=first,
                cache_key=key,
            )
        result = self.run_steps(
            [step],
            inputs,
            {step.name: dict(context_params)},
            artifact_store,
            run_id,
            project_name,
            group=step.name,
            timeout=step.timeout,
            resources=step.resources,
        )[0]
        if key is not None and result.success and not result.skipped and cache_store is not None:
            refs = {n: {"uri": uri, "digest": "", "size": 0} for n, uri in result.outputs.items()}
            cache_store.record(key, step.name, refs)
            result = result.model_copy(update={"cache_key": key})
        return result

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
        """Execute a group's steps, in order, in one launch of the step runner.

        Args:
            step_group: StepGroup to execute.
            inputs: Input data available to the group.
            context: Context object for per-step parameter injection (preferred).
            context_params: Parameters from context (deprecated, use context instead).
            cache_store: Not used: a group runs as a unit.
            artifact_store: Artifact store for materialization.
            run_id: Run identifier.
            project_name: Project name.

        Returns:
            List of ExecutionResult (one per step that ran, in execution order).
        """
        steps = list(step_group.steps)
        params = {s.name: params_for(s.name, context, context_params) for s in steps}
        timeouts = [s.timeout for s in steps]
        timeout = None if None in timeouts else float(sum(t for t in timeouts if t))
        group_inputs = {name: inputs[name] for name in step_group.inputs if name in inputs}
        return self.run_steps(
            steps,
            group_inputs,
            params,
            artifact_store,
            run_id,
            project_name,
            group=step_group.name,
            timeout=timeout,
            resources=step_group.resources,
        )

    def run_steps(
        self,
        steps: list[Any],
        inputs: dict[str, Any],
        params: dict[str, dict[str, Any]],
        artifact_store: ArtifactStore | None,
        run_id: str | None,
        project_name: str,
        *,
        group: str,
        timeout: float | None,
        resources: Any = None,
        pipeline_ref: str | None = None,
    ) -> list[ExecutionResult]:
        """Write the task, launch the step runner, and read back one result per step run.

        ``pipeline_ref`` defaults to the executor's own; the group's steps are recorded in
        its ``run_tracker``, when it has one, before the launch.
        """
        pipeline_ref = pipeline_ref or self.pipeline_ref
        if self.run_tracker is not None:
            self.run_tracker.group(group, [s.name for s in steps])
        started_at = datetime.now(UTC)
        start = time.perf_counter()
        if artifact_store is None:
            from flowyml.project.folder import open_project

            artifact_store = open_project().artifact_store()
        run_id = run_id or "adhoc-" + os.urandom(4).hex()
        reference = {"pipeline": pipeline_ref} if pipeline_ref else self._step_references(steps)
        write_task(artifact_store, run_id, group, steps, inputs, params, reference, project_name)
        artifact_store.flush()  # the step runner runs elsewhere: make the inputs visible
        args = step_runner_args(run_id, group, self.artifact_store_uri(artifact_store))
        outcome = self.launch(
            args,
            run_id=run_id,
            group=group,
            timeout=timeout,
            artifact_store=artifact_store,
            resources=resources,
        )
        results = read_manifest(artifact_store, run_id, group)
        if outcome.exit_code == 0 and results:
            return [r.model_copy(update={"exit_code": 0}) for r in results]
        if results and not results[-1].success and not outcome.timed_out:
            return [*results[:-1], results[-1].model_copy(update={"exit_code": outcome.exit_code})]
        done = {r.step_name for r in results}
        pending = [s.name for s in steps if s.name not in done]
        name = pending[0] if pending else steps[-1].name
        if outcome.timed_out:
            error = f"step '{name}' exceeded its timeout of {timeout} s and was killed"
        elif outcome.reason:
            error = f"step '{name}' {outcome.reason}"
        elif outcome.exit_code == 0:
            error = f"step '{name}': the step runner exited without writing results"
        else:
            error = f"step '{name}' crashed: process {describe_exit(outcome.exit_code)}"
        failure = ExecutionResult(
            step_name=name,
            success=False,
            cancelled=outcome.cancelled,
            error=error,
            logs=outcome.logs,
            exit_code=outcome.exit_code,
            started_at=started_at,
            finished_at=datetime.now(UTC),
            duration_seconds=time.perf_counter() - start,
            usage=outcome.usage,
        )
        return [*[r for r in results if r.success], failure]

    @staticmethod
    def _step_references(steps: list[Any]) -> dict[str, str]:
        reference: dict[str, str] = {}
        for member in steps:
            ref = member.reference()
            if ref is None:
                raise PipelineDefinitionError(
                    f"step '{member.name}' is not a module-level variable, so another process "
                    "cannot import it; define it at the top level of a module or script"
                )
            reference[member.name] = ref
        return reference
