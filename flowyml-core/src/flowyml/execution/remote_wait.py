"""Running a pipeline through a ``RemoteOrchestrator`` and waiting for its outcome."""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flowyml.errors import RunInterrupted
from flowyml.records.results import WaitTimeoutError
from flowyml.records.status import ExecutionStatus
from flowyml.storage.artifact import Artifact
from flowyml.storage.pipeline_run import PipelineRun

if TYPE_CHECKING:
    from flowyml.definition.context import Context
    from flowyml.definition.pipeline import PipelineDefinition as Pipeline
    from flowyml.execution.remote import RemoteOrchestrator
    from flowyml.project.config import StackConfig
    from flowyml.records.listener import RunListener

__all__ = ["run_remote"]

_STOP_RECORD_SECONDS = 10.0


def run_remote(
    pipeline: Pipeline,
    orchestrator: RemoteOrchestrator,
    stack: StackConfig,
    run_id: str,
    context: Context,
    inputs: Mapping[str, Any] | None,
    listener: RunListener | None = None,
    fail_fast: bool | None = None,
    resume_from: str | None = None,
    echo_logs: bool = True,
) -> PipelineRun:
    """Submit, wait, and gather the results; Ctrl-C stops the remote run.

    The orchestrator also receives, as keyword arguments, ``listener`` (progress events,
    for backends that can report them), ``fail_fast``, ``resume_from`` (a failed run whose
    completed steps to reuse), ``echo_logs`` (print what steps print) and ``stack`` (its
    artifact store and cache settings); backends that have no use for them ignore them.
    """
    started = time.perf_counter()
    submission = orchestrator.run_pipeline(
        pipeline,
        run_id,
        resources=stack.resources,
        docker_config=stack.docker,
        inputs=dict(inputs or {}),
        context=context.to_dict(),
        listener=listener,
        fail_fast=stack.fail_fast if fail_fast is None else fail_fast,
        resume_from=resume_from,
        echo_logs=echo_logs,
        stack=stack,
    )
    interrupted: KeyboardInterrupt | None = None
    try:
        status = submission.wait()
    except KeyboardInterrupt as exc:
        orchestrator.stop_run(submission.job_id, graceful=False)
        interrupted, status = exc, ExecutionStatus.CANCELLED
        # Let the backend record the run cancelled before this process exits; one that
        # takes longer leaves the run to the next reader, which finds it crashed.
        with contextlib.suppress(WaitTimeoutError):
            submission.wait(timeout=_STOP_RECORD_SECONDS)
    results = orchestrator.step_results(submission.job_id)
    artifacts: dict[str, Artifact] = {}
    for item in pipeline.steps:
        result = results.get(item.name)
        if result is None or not result.success:
            continue
        for name, uri in result.outputs.items():
            artifacts[name] = Artifact.from_result(name, result.cache_key, uri)
    failed = [name for name, r in results.items() if not r.success]
    error = None
    if failed:
        error = f"step '{failed[0]}' failed: {results[failed[0]].error}"
    elif status.is_failed:
        error = f"{orchestrator.name} job {submission.job_id} ended {status.value}"
    if status.is_successful and failed:
        status = ExecutionStatus.FAILED
    run = PipelineRun(
        run_id=run_id,
        pipeline_name=pipeline.name,
        backend=orchestrator.name,
        status=status,
        step_results=results,
        artifacts=artifacts,
        not_run=[s.name for s in pipeline.steps if s.name not in results],
        producers={name: s.name for s in pipeline.steps for name in s.outputs},
        params=context.to_dict(),
        duration_seconds=time.perf_counter() - started,
        error=error,
    )
    if interrupted is not None:
        run.error = f"run {interrupted or 'interrupted by SIGINT'}"
        if isinstance(interrupted, RunInterrupted):
            interrupted.run = run
            raise interrupted
        raise RunInterrupted(signal.SIGINT, run) from interrupted
    return run
