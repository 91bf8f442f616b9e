"""The scheduler: walks a pipeline's DAG group by group over an executor."""

from __future__ import annotations

import signal
import time
import warnings
from collections import deque
from typing import TYPE_CHECKING, Any

from flowyml.definition.context import Context
from flowyml.definition.grouping import StepGroup, group_steps, pipeline_graph
from flowyml.definition.parameters import effective_parameters
from flowyml.errors import RunInterrupted
from flowyml.execution.executor import Executor, result_artifacts
from flowyml.execution.log_capture import recording_live_output, routing_installed
from flowyml.execution.resume import (
    Completed,
    record_resume_keys,
    restore_completed,
    reusable_results,
)
from flowyml.execution.run_loop import RunLoop
from flowyml.execution.run_state import RunState as _RunState
from flowyml.execution.run_step import value_fingerprint
from flowyml.records.listener import RunListener
from flowyml.records.results import ExecutionResult
from flowyml.records.status import ExecutionStatus
from flowyml.storage.artifact import Artifact
from flowyml.storage.artifact_store import ArtifactStore
from flowyml.storage.cache import CacheStore
from flowyml.storage.pipeline_run import PipelineRun
from flowyml.storage.run_store import RunStore

if TYPE_CHECKING:
    from flowyml.definition.pipeline import PipelineDefinition as Pipeline

__all__ = ["Orchestrator", "Scheduler"]


class Scheduler:
    """Runs a pipeline's step groups over an executor, in dependency order.

    Ready groups run concurrently up to the executor's ``max_workers``; outputs flow
    forward (by reference for in-process executors); a failure stops the run
    (``fail_fast``) or only the steps downstream of it; everything is recorded in the run
    store; a failed run can be resumed, reusing the outputs of its completed steps.
    """

    def __init__(
        self,
        executor: Executor,
        run_store: RunStore,
        cache_store: CacheStore | None,
        artifact_store: ArtifactStore | None,
        *,
        fail_fast: bool = True,
        project_name: str = "default",
        listener: RunListener | None = None,
    ) -> None:
        self.executor = executor
        self.run_store = run_store
        self.cache_store = cache_store
        self.artifact_store = artifact_store
        self.fail_fast = fail_fast
        self.project_name = project_name
        self.listener = listener or RunListener()
        # The base listener ignores every event: not calling it spares two calls a step.
        self._step_events = type(self.listener) is not RunListener

    def run(
        self,
        pipeline: Pipeline,
        run_id: str,
        context: Context,
        inputs: dict[str, Any] | None = None,
        resume_from: str | None = None,
    ) -> PipelineRun:
        """Run the pipeline to completion and return what happened."""
        started = time.perf_counter()
        dag = pipeline.build_dag(external_inputs=inputs or {})
        self.executor.check_pipeline(pipeline.steps, context)
        groups = group_steps(dag)
        artifacts: dict[str, Artifact] = {
            name: Artifact(name, value_fingerprint(value), value)
            for name, value in (inputs or {}).items()
        }
        restored = (
            restore_completed(self.run_store, self.artifact_store, pipeline.name, resume_from)
            if resume_from
            else {}
        )
        self.run_store.create_run(
            run_id,
            pipeline.name,
            self.executor.name,
            {**context.to_dict(), "steps": effective_parameters(context, pipeline.steps)},
            self.project_name,
            resumed_from=resume_from,
            pipeline_ref=pipeline.reference(),
            graph=pipeline_graph(dag, groups),
        )
        self.listener.run_started(run_id, pipeline.name, self.executor.name, list(dag.order))
        if self.cache_store is not None:
            self.cache_store.preload(dag.order)
        state = _RunState(groups, artifacts, dag)
        status = ExecutionStatus.FAILED
        error: str | None = None
        interrupted: KeyboardInterrupt | None = None
        try:
            with routing_installed(), recording_live_output(run_id, self.run_store.append_live):
                self._schedule(state, run_id, context, restored)
            status = ExecutionStatus.FAILED if state.failed else ExecutionStatus.SUCCESS
            if state.failed:
                first = state.failed[0]
                error = f"step '{first}' failed: {state.results[first].error}"
        except KeyboardInterrupt as exc:
            interrupted = exc
            status = ExecutionStatus.CANCELLED
            error = state.cancel_running(
                run_id, exc, self.run_store, self.listener, self.executor.passes_by_reference
            )
        except BaseException as exc:
            error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            if self.artifact_store is not None:
                self.artifact_store.flush()  # before the records that point at artifacts
            if status is not ExecutionStatus.SUCCESS:
                record_resume_keys(
                    self.run_store, run_id, pipeline.steps, state.results, state.artifacts, context
                )
            self.run_store.finish_run(run_id, status, error)
            self._end_run(run_id)
            self.listener.run_finished(run_id, status.value)
        not_run = [name for name in dag.order if name not in state.results]
        run = PipelineRun(
            run_id=run_id,
            pipeline_name=pipeline.name,
            backend=self.executor.name,
            status=status,
            step_results={name: state.results[name] for name in dag.order if name in state.results},
            artifacts=state.artifacts,
            not_run=not_run,
            producers=dag.producers,
            params=context.to_dict(),
            duration_seconds=time.perf_counter() - started,
            error=error,
        )
        if interrupted is not None:
            if isinstance(interrupted, RunInterrupted):
                interrupted.run = run
                raise interrupted
            raise RunInterrupted(signal.SIGINT, run) from interrupted
        return run

    def _end_run(self, run_id: str) -> None:
        try:
            self.executor.end_run(run_id)
        except Exception as exc:  # the run is recorded: releasing resources cannot change it
            warnings.warn(
                f"backend '{self.executor.name}' could not release what run {run_id} used: "
                f"{type(exc).__name__}: {exc}",
                RuntimeWarning,
                stacklevel=2,
            )

    # -- scheduling ------------------------------------------------------------------
    def _schedule(
        self,
        state: _RunState,
        run_id: str,
        context: Context,
        restored: dict[str, Completed],
    ) -> None:
        # The callbacks refer to the ready queue, not to the loop: a loop that its own
        # callbacks refer to is a reference cycle, which would keep the run's groups,
        # results and output values in memory until the cyclic collector ran.
        ready = deque(g for g in state.groups if not g.upstream)
        loop = RunLoop(
            state,
            ready,
            max_workers=self.executor.max_workers,
            in_process=self.executor.passes_by_reference,
            announce=lambda group: self._announce(group, run_id, state),
            dispatch=lambda group: self._dispatch(group, state, run_id, context),
            complete=lambda group, results: self._complete(
                state, group, results, run_id, ready, context
            ),
            reuse=(lambda group: reusable_results(group, restored, state.artifacts, context))
            if restored
            else None,
        )
        try:
            loop.run()
        except BaseException:
            # Ctrl-C or a crash of the scheduler: steps running elsewhere must not outlive
            # the run; steps running on this process's threads are abandoned.
            self.executor.cancel()
            raise

    def _announce(self, group: StepGroup, run_id: str, state: _RunState) -> None:
        now = time.time()
        for member in group.steps:
            state.running[member.name] = now
            self.run_store.step_started(run_id, member.name, now)
            if self._step_events:
                self.listener.step_started(member.name)

    def _dispatch(
        self, group: StepGroup, state: _RunState, run_id: str, context: Context
    ) -> list[ExecutionResult]:
        artifacts = state.artifacts
        if len(group.steps) == 1:
            member = group.steps[0]
            # What the condition reads travels with the inputs (to another process too).
            read = state.condition_inputs[member.name]
            wanted = dict.fromkeys([*member.inputs, *read]) if read else member.inputs
            inputs = {name: artifacts[name] for name in wanted if name in artifacts}
            if len(inputs) < len(wanted):
                return [ExecutionResult(step_name=member.name, success=True, skipped=True)]
            return [
                self.executor.execute_step(
                    member,
                    inputs,
                    context.for_step(member.name),
                    cache_store=self.cache_store,
                    artifact_store=self.artifact_store,
                    run_id=run_id,
                    project_name=self.project_name,
                    all_outputs=dict(artifacts) if member.condition is not None else None,
                )
            ]
        group_inputs = {name: artifacts[name] for name in group.inputs if name in artifacts}
        for name in list(artifacts):
            group_inputs.setdefault(name, artifacts[name])
        return self.executor.execute_step_group(
            group,
            group_inputs,
            context=context,
            cache_store=self.cache_store,
            artifact_store=self.artifact_store,
            run_id=run_id,
            project_name=self.project_name,
        )

    def _complete(
        self,
        state: _RunState,
        group: StepGroup,
        results: list[ExecutionResult],
        run_id: str,
        ready: deque[StepGroup],
        context: Context,
    ) -> None:
        """Record a finished group and release its children.

        Groups blocked by a failure upstream are completed here too, with no results;
        a work list rather than recursion, so a long chain below a failure cannot exhaust
        the stack.
        """
        pending: list[tuple[StepGroup, list[ExecutionResult]]] = [(group, results)]
        while pending:
            done, done_results = pending.pop()
            if self._recompute_lost_inputs(state, done_results, run_id, context):
                ready.append(done)  # what it could not load was recomputed: run it again
                continue
            self._record(state, done, done_results, run_id, context)
            for child in state.children[done.name]:
                state.waiting[child] -= 1
                if done.name in state.blocked:
                    state.blocked.add(child)
                if state.waiting[child] == 0 and child not in state.blocked:
                    ready.append(state.by_name[child])
                elif state.waiting[child] == 0:
                    # Blocked by a failure upstream: never runs; its children are blocked too.
                    pending.append((state.by_name[child], []))

    def _recompute_lost_inputs(
        self,
        state: _RunState,
        results: list[ExecutionResult],
        run_id: str,
        context: Context,
    ) -> bool:
        """Recompute reused artifacts that a step could not load; True when it may rerun.

        An artifact that came from the cache (or a resumed run) but is gone or unreadable
        now (deleted, corrupted, pickled under a module that no longer exists) is not a
        reason to fail the run: its producer's cache entry is dropped and the producer
        runs again, once per artifact and run. A freshly computed artifact that cannot
        be loaded is a real failure and is reported as such.
        """
        for result in results:
            if not result.success:
                break
        else:
            return False  # the common case, once per group: nothing failed
        lost = [name for r in results if not r.success for name in r.lost_inputs]
        if not lost or any(name in state.recomputed for name in lost):
            return False
        producers: dict[str, StepGroup] = {}
        for name in lost:
            prior = state.results.get(state.producers.get(name, ""))
            if prior is None or not prior.cached:
                return False
            group = state.group_of[prior.step_name]
            producers[group.name] = group
        state.recomputed.update(lost)
        for group in producers.values():
            for member in group.steps:
                prior = state.results.get(member.name)
                if prior is not None and prior.cached and prior.cache_key and self.cache_store:
                    self.cache_store.forget(prior.cache_key)
            self._announce(group, run_id, state)
            self._record(
                state, group, self._dispatch(group, state, run_id, context), run_id, context
            )
            if group.name in state.blocked:
                return False
        return True

    def _record(
        self,
        state: _RunState,
        group: StepGroup,
        results: list[ExecutionResult],
        run_id: str,
        context: Context,
    ) -> None:
        failed = False
        alone = group.steps[0] if len(group.steps) == 1 else None
        by_name = {} if alone else {s.name: s for s in group.steps}
        for result in results:
            if alone is not None and result.step_name == alone.name:
                member = alone
            else:
                member = by_name[result.step_name]
            state.running.pop(result.step_name, None)
            state.results[result.step_name] = result
            # refs None: the run store records the result's outputs by URI.
            self.run_store.step_finished(run_id, result, None, result.cache_key)
            if self._step_events:
                self.listener.step_finished(result)
            if not result.success:
                failed = True
                state.failed.append(result.step_name)
                continue
            try:
                state.artifacts.update(result_artifacts(member, result))
            except Exception as exc:  # outputs of an executor that broke its contract
                state.failed.append(result.step_name)
                failed = True
                state.results[result.step_name] = result.model_copy(
                    update={"success": False, "error": f"{type(exc).__name__}: {exc}"}
                )
        for member in group.steps:
            state.running.pop(member.name, None)
        if len(results) < len(group.steps):
            failed = True
        if failed:
            state.blocked.add(group.name)
            if self.fail_fast:
                state.stopped = True


# The name the scheduler had in version 1 of the backend API; kept working.
Orchestrator = Scheduler
