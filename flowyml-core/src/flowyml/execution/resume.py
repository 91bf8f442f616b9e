"""Resuming a failed run: which of its completed steps may be reused, and proof of it.

A completed step of the resumed run is reused only when its key — the cache key
computed now from its code, its own parameters and its inputs' fingerprints — equals
the key recorded when it ran. Any change upstream (code, parameter, input) changes the
key, so the step and everything after it run again: a resumed run never mixes outputs
computed with old code or parameters into new work.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flowyml.definition.context import Context
from flowyml.definition.grouping import StepGroup
from flowyml.errors import RunNotFoundError
from flowyml.execution.executor import result_artifacts
from flowyml.execution.run_step import step_key
from flowyml.records.results import ExecutionResult
from flowyml.storage.artifact import Artifact
from flowyml.storage.artifact_store import ArtifactStore
from flowyml.storage.run_store import RunStore

if TYPE_CHECKING:
    from flowyml.definition.steps import Step

__all__ = [
    "Completed",
    "key_of",
    "record_resume_keys",
    "restore_completed",
    "reusable_results",
]


@dataclass(frozen=True)
class Completed:
    """A step the resumed run completed: its recorded result and the key it ran under.

    Attributes:
        result: the recorded result (``cached``, outputs by URI, its cache key or none).
        key: the key to compare — its cache key, or the resume key recorded for a step
            that ran without one.
    """

    result: ExecutionResult
    key: str | None


def restore_completed(
    run_store: RunStore,
    artifact_store: ArtifactStore | None,
    pipeline_name: str,
    run_id: str,
) -> dict[str, Completed]:
    """The steps run ``run_id`` completed whose artifacts still exist, by name.

    Raises:
        RunNotFoundError: no such run, or it belongs to another pipeline.
    """
    record = run_store.get_run(run_id)
    if record.pipeline != pipeline_name:
        raise RunNotFoundError(
            f"run '{run_id}' belongs to pipeline '{record.pipeline}', not '{pipeline_name}'"
        )
    restored: dict[str, Completed] = {}
    for step in record.steps:
        if not step.status.is_successful or step.skipped:
            continue
        outputs = {name: ref["uri"] for name, ref in step.outputs.items()}
        if artifact_store is not None and not all(
            artifact_store.exists(uri) for uri in outputs.values()
        ):
            continue
        result = ExecutionResult(
            step_name=step.step,
            success=True,
            cached=True,
            outputs=outputs,
            artifact_uri=next(iter(outputs.values()), None),
            cache_key=step.cache_key,
        )
        restored[step.step] = Completed(result, step.cache_key or step.resume_key)
    return restored


def key_of(member: Step, inputs: Mapping[str, Artifact], context: Context) -> str | None:
    """The key ``member`` runs under with these inputs, or ``None`` if one is missing."""
    if any(name not in inputs for name in member.inputs):
        return None
    params = context.for_step(member.name)
    own = {k: params[k] for k in member.context_params if k in params}
    return step_key(member, inputs, own)


def reusable_results(
    group: StepGroup,
    restored: dict[str, Completed],
    artifacts: Mapping[str, Artifact],
    context: Context,
) -> list[ExecutionResult] | None:
    """The restored results of ``group`` when every member would run exactly as recorded,
    else ``None`` (the group runs again).

    The outputs of a restored step get the fingerprints they had in the resumed run
    (input-addressed with a cache key, by content without), so the keys computed for
    the steps after it match the recorded ones.
    """
    if not restored:
        return None
    produced: dict[str, Artifact] = {}
    results: list[ExecutionResult] = []
    for member in group.steps:
        prior = restored.get(member.name)
        if prior is None or prior.key is None:
            return None
        visible = {**artifacts, **produced} if produced else artifacts
        if key_of(member, visible, context) != prior.key:
            return None
        produced.update(result_artifacts(member, prior.result))
        results.append(prior.result)
    return results


def record_resume_keys(
    run_store: RunStore,
    run_id: str,
    steps: list[Step],
    results: Mapping[str, ExecutionResult],
    artifacts: Mapping[str, Artifact],
    context: Context,
) -> None:
    """Give the completed steps that ran without a cache key (uncacheable, or no cache)
    the key a resume of this unsuccessful run compares.

    Done once at the end of a run, not per step: only a run that did not succeed is
    resumed.
    """
    keys: dict[str, str] = {}
    for member in steps:
        result = results.get(member.name)
        if result is None or not result.success or result.skipped or result.cache_key:
            continue
        key = key_of(member, artifacts, context)
        if key is not None:
            keys[member.name] = key
    if keys:
        run_store.record_step_keys(run_id, keys)
