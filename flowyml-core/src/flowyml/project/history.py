"""Recorded runs read back as the user sees runs: :func:`get_run`."""

from __future__ import annotations

from pathlib import Path

from flowyml.records.results import ExecutionResult
from flowyml.records.status import ExecutionStatus
from flowyml.storage.artifact import Artifact
from flowyml.storage.pipeline_run import PipelineRun
from flowyml.storage.run_store import StepRecord

__all__ = ["get_run", "result_from_record"]


def result_from_record(record: StepRecord) -> ExecutionResult:
    """The result of one step as the run store recorded it (outputs by URI)."""
    outputs = {name: ref["uri"] for name, ref in record.outputs.items()}
    return ExecutionResult(
        step_name=record.step,
        success=record.status.is_successful,
        error=record.error,
        traceback=record.traceback,
        duration_seconds=record.duration or 0.0,
        cached=record.cached,
        skipped=record.skipped,
        retries=record.retries,
        outputs=outputs,
        artifact_uri=next(iter(outputs.values()), None),
        exit_code=record.exit_code,
        cache_key=record.cache_key,
        cancelled=record.status is ExecutionStatus.CANCELLED,
    )


def get_run(run_id: str, project: str | Path | None = None) -> PipelineRun:
    """A recorded run: its status, step results and parameters, and its outputs, each
    read from the artifact store when first used — so a notebook can pick up
    yesterday's model with ``get_run(RUN_ID).outputs["model"]``.

    Args:
        run_id: the run's id, or a unique prefix of it.
        project: a folder of the project (default: the working directory's project).

    Raises:
        RunNotFoundError: no run has this id in the project.
    """
    from flowyml.project.folder import open_project

    record = open_project(Path(project) if project is not None else None).run_store.get_run(run_id)
    results = {step.step: result_from_record(step) for step in record.steps}
    artifacts: dict[str, Artifact] = {}
    producers: dict[str, str] = {}
    for step in record.steps:
        for name, ref in step.outputs.items():
            producers[name] = step.step
            if step.status.is_successful:
                artifacts[name] = Artifact.from_result(name, step.cache_key, ref["uri"])
    return PipelineRun(
        run_id=record.run_id,
        pipeline_name=record.pipeline,
        backend=record.backend,
        status=record.status,
        step_results=results,
        artifacts=artifacts,
        duration_seconds=record.duration or 0.0,
        error=record.error,
        producers=producers,
        params=record.params,
    )
