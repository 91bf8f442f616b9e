"""Planning a run: its groups, which steps the cache holds, how long the rest take.

:func:`plan_run` walks the pipeline's groups in the scheduler's order and, without
running anything, computes each step's cache key with the scheduler's own functions
(:func:`~flowyml.execution.run_step.lookup_cache`, and the input fingerprints an
executor's results would give its consumers), so a plan cannot drift from a run:

- a step whose inputs are all pipeline inputs or outputs of steps with a known key gets
  its key, and is cached exactly when the run would find it in the cache;
- a step fed by a step that runs without a cache key (``cache=False``, or a member of a
  group that runs as a unit) is planned to run, undecided: its key depends on what that
  step writes, and the run still reuses a cached result when that is unchanged;
- with the cache off every step runs.

Durations come from the run store: the step's recorded time in the last successful runs
of the pipeline, on the same backend when it has any. Backends add machine types, images
and prices to the :class:`~flowyml.records.plan.RunPlan` this returns.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from typing import Any

from flowyml.definition.context import Context
from flowyml.definition.grouping import StepGroup, group_steps
from flowyml.execution.executor import params_for
from flowyml.execution.launcher import TaskExecutor
from flowyml.execution.run_step import lookup_cache, value_fingerprint
from flowyml.project.folder import Project, open_project
from flowyml.records.plan import GroupPlan, RunPlan, StepPlan
from flowyml.records.resources import ResourceConfig
from flowyml.records.status import ExecutionStatus
from flowyml.storage.artifact import Artifact
from flowyml.storage.artifact_store import ArtifactStore
from flowyml.storage.cache import CacheStore
from flowyml.storage.run_store import RunStore

__all__ = ["members_use_cache", "plan_run", "recorded_durations"]

# How many past successful runs a duration estimate looks at.
_RUNS_LOOKED_AT = 20
_SAMPLES_PER_STEP = 5


def members_use_cache(executor: Any) -> bool:
    """Whether the members of a multi-step group look in the cache one by one.

    An executor running steps in this process does; a step launcher
    (:class:`~flowyml.execution.launcher.TaskExecutor`) runs a group as a unit, so its
    members always run, and only a group of one step can come from the cache.
    """
    kind = executor if isinstance(executor, type) else type(executor)
    return not issubclass(kind, TaskExecutor)


def plan_run(
    pipeline: Any,
    backend: str,
    *,
    context: Context | Mapping[str, Any] | None = None,
    inputs: Mapping[str, Any] | None = None,
    project: Project | None = None,
    artifact_store: ArtifactStore | None = None,
    use_cache: bool = True,
    executor: Any = None,
    default_resources: ResourceConfig | None = None,
) -> RunPlan:
    """The plan of a run of ``pipeline`` on ``backend``, before the backend adds its part.

    Args:
        pipeline: the pipeline.
        backend: the backend kind (recorded runs of this backend are preferred for
            durations).
        context: the run's parameters (a ``Context``, or values updating the pipeline's).
        inputs: values for inputs no step produces.
        project: the project (default: the working directory's).
        artifact_store: the store the run would use; a cache entry counts only while its
            artifacts are there, as in a run (default: the project's).
        use_cache: whether the run may use the cache (``--no-cache`` and the stack's
            ``cache`` switch say no).
        executor: the executor (or its class) that would run the groups; see
            :func:`members_use_cache` (default: an in-process one).
        default_resources: the stack's resources, for groups that ask for none.

    Raises:
        PipelineDefinitionError: the pipeline cannot run as defined.
    """
    project = project or open_project()
    run_context = _context(pipeline, context)
    pipeline.validate(run_context, dict(inputs or {}))
    dag = pipeline.build_dag(external_inputs=dict(inputs or {}))
    groups = group_steps(dag)
    store = artifact_store if artifact_store is not None else project.artifact_store()
    cache: CacheStore | None = project.cache_store if use_cache else None
    if cache is not None:
        cache.preload(dag.order)
    members_cached = executor is None or members_use_cache(executor)
    durations = recorded_durations(project.run_store, pipeline.name, backend, list(dag.order))
    walk = _KeyWalk(run_context, inputs or {}, cache, store)
    planned: list[GroupPlan] = []
    for group in groups:
        unit = len(group.steps) > 1 and not members_cached
        steps = [walk.step(member, durations.get(member.name), unit) for member in group.steps]
        planned.append(_group_plan(group, steps, default_resources))
    notes = []
    if not use_cache:
        notes.append("the cache is off for this run: every step runs")
    if any(s.conditional for g in planned for s in g.step_plans):
        notes.append("steps with a condition are planned as if it holds")
    return RunPlan(pipeline=pipeline.name, backend=backend, groups=planned, notes=notes)


def _context(pipeline: Any, context: Context | Mapping[str, Any] | None) -> Context:
    if isinstance(context, Context):
        return context
    base: Context = pipeline.context
    return base.updated(**context) if context else base


def _group_plan(
    group: StepGroup, steps: list[StepPlan], default: ResourceConfig | None
) -> GroupPlan:
    running = [s for s in steps if not s.cached]
    seconds: float | None = 0.0
    if any(s.estimated_seconds is None for s in running):
        seconds = None
    else:
        seconds = float(sum(s.estimated_seconds or 0.0 for s in running))
    return GroupPlan(
        name=group.name,
        steps=[s.name for s in group.steps],
        step_plans=steps,
        resources=group.resources.with_defaults(default),
        estimated_seconds=seconds,
    )


class _KeyWalk:
    """The artifacts a run would hold, as fingerprints, step after step in run order."""

    def __init__(
        self,
        context: Context,
        inputs: Mapping[str, Any],
        cache: CacheStore | None,
        store: ArtifactStore,
    ) -> None:
        self.context = context
        self.cache = cache
        self.store = store
        # Artifact name -> an Artifact carrying the fingerprint the run would give it, or
        # the reason nobody can know it before the run.
        self.known: dict[str, Artifact] = {
            name: Artifact(name, value_fingerprint(value), value) for name, value in inputs.items()
        }
        self.unknown: dict[str, str] = {}

    def step(self, step: Any, seconds: float | None, unit: bool) -> StepPlan:
        conditional = step.condition is not None
        blocked = next((self.unknown[n] for n in step.inputs if n in self.unknown), None)
        key: str | None = None
        hit: dict[str, str] | None = None
        undecided = False
        if unit:
            reason = "runs with its group as one unit, which does not look in the cache"
        elif not step.cache:
            reason = "cache=False"
        elif self.cache is None:
            reason = "the cache is off"
        elif blocked is not None:
            reason, undecided = blocked, True
        else:
            inputs = {n: self.known[n] for n in step.inputs if n in self.known}
            params = params_for(step.name, self.context, None)
            own = {k: params[k] for k in step.context_params if k in params}
            key, hit = lookup_cache(step, inputs, own, self.cache, self.store)
            reason = "in the cache" if hit is not None else "not in the cache"
        cached = hit is not None
        if key is not None:
            # Cached or run, a step with a key gives its outputs fingerprints from it.
            for name in step.outputs:
                uri = hit.get(name) if hit else None
                self.known[name] = Artifact.from_result(name, key, uri)
        else:
            why = (
                f"its key depends on what step '{step.name}' writes (it has no cache key); "
                "a cached result is used if that is unchanged"
            )
            for name in step.outputs:
                self.unknown[name] = blocked or why
        return StepPlan(
            name=step.name,
            cached=cached,
            cache_key=key,
            reason=reason,
            estimated_seconds=0.0 if cached else seconds,
            conditional=conditional,
            decided=not undecided,
        )


def recorded_durations(
    run_store: RunStore, pipeline: str, backend: str, steps: list[str]
) -> dict[str, float]:
    """Step -> its median duration in the last successful runs of ``pipeline`` where it
    ran (not cached, not skipped); runs on ``backend`` first, then on any backend.

    Args:
        run_store: the project's run store.
        pipeline: the pipeline's name.
        backend: the backend kind whose runs are preferred.
        steps: the steps wanted.
    """
    runs = run_store.list_runs(
        limit=_RUNS_LOOKED_AT, pipeline=pipeline, status=ExecutionStatus.SUCCESS.value
    )
    same: dict[str, list[float]] = {}
    other: dict[str, list[float]] = {}
    wanted = set(steps)
    for run in runs:
        samples = same if run.backend == backend else other
        for record in run_store.get_steps(run.run_id):
            if record.step not in wanted or record.duration is None:
                continue
            if record.status is not ExecutionStatus.SUCCESS or record.cached or record.skipped:
                continue
            found = samples.setdefault(record.step, [])
            if len(found) < _SAMPLES_PER_STEP:
                found.append(record.duration)
    return {
        name: float(statistics.median(same.get(name) or other[name]))
        for name in steps
        if same.get(name) or other.get(name)
    }
