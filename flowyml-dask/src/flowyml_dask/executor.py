"""The ``dask`` backend: each ready step (or group) is one task on a Dask cluster.

The core scheduler hands this executor a group as soon as its inputs exist; the group is
submitted at once with ``client.submit`` and runs on a worker through the core's step
engine (:mod:`flowyml_dask.worker_task`), so conditions, retries, timeouts and output
capture are the core's. The client-side cache look-up is :class:`TaskExecutor`'s.

Values stay on the cluster: a group task's result holds its outputs' values, and a
consumer's task takes the producer's future as an argument, so Dask hands the object over
in place on the same worker, or worker to worker, never through the client. Every output
is also written to the run's artifact store (cache, resume, ``run.outputs``). The client
learns how a group ended from a small event the task sends, without fetching the values
(:mod:`flowyml_dask.task_watch`). A step past its timeout is stopped on its worker, or its
worker restarted (:mod:`flowyml_dask.overrun`), before the group's results come back.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
import time
from typing import Any

from flowyml.backend import (
    ArtifactStore,
    BackendError,
    Context,
    ExecutionResult,
    LaunchOutcome,
    RunPlan,
    TaskExecutor,
    live_output,
    open_project,
)
from flowyml_dask.cluster import RunCluster, WorkerDied
from flowyml_dask.settings import DaskExecutorConfig, dask_resources, default_address
from flowyml_dask.task_watch import TaskWatch, words
from flowyml_dask.worker_task import InputSpec, run_group, step_spec

__all__ = ["DaskExecutor"]


class DaskExecutor(TaskExecutor):
    """Runs each step or group as a task on a Dask cluster (see the module docstring)."""

    name = "dask"
    config_model = DaskExecutorConfig

    def plan(
        self,
        pipeline: Any,
        *,
        context: Any = None,
        inputs: dict[str, Any] | None = None,
        stack: Any = None,
        **_image_and_defaults: Any,
    ) -> RunPlan:
        """What a run would do: groups (one task each), cached steps, each task's worker
        resources and the cost when the project has a price file; no cluster is reached.

        Raises:
            PipelineDefinitionError: the pipeline cannot run as defined.
        """
        from flowyml_dask.plan import plan_dask_run

        return plan_dask_run(self, pipeline, context=context, inputs=inputs, stack=stack)

    #: Where streamed output goes instead of stdout: set by ``Pipeline.run`` when its
    #: caller listens, to a relay whose ``write(name, text)`` passes it to the listener.
    step_output: Any = None

    def __init__(
        self,
        address: str | None = None,
        n_workers: int = 2,
        threads_per_worker: int = 1,
        memory_limit: str = "auto",
        dashboard: bool = False,
        max_in_flight: int = 256,
        connect_timeout: float = 30.0,
        echo_logs: bool = True,
    ) -> None:
        self.address = default_address(address)
        self.n_workers = n_workers
        self.threads_per_worker = threads_per_worker
        self.memory_limit = memory_limit
        self.dashboard = dashboard
        self.max_workers = max_in_flight
        self.connect_timeout = connect_timeout
        self.echo_logs = echo_logs
        self._cluster: RunCluster | None = None
        self._run_id: str | None = None
        self._lock = threading.Lock()
        self._watch = TaskWatch(self._on_log)
        self._restarted: set[str] = set()  # workers restarted to stop a stuck step
        self._values: dict[str, tuple[Any, str]] = {}  # artifact -> (group future, uri)
        self._consumers: dict[str, int] = {}  # artifact -> consumers not submitted yet
        self._numbers = itertools.count()
        self._stopping = False

    # -- the run's cluster -----------------------------------------------------------
    def check_pipeline(self, steps: list[Any], context: Context) -> None:
        """Steps must be importable by the workers; counts each output's consumers, so a
        value is let go on the cluster once every consumer has been submitted."""
        super().check_pipeline(steps, context)
        counts: dict[str, int] = {}
        for member in steps:
            for name in {*member.inputs, *getattr(member, "condition_params", ())}:
                counts[name] = counts.get(name, 0) + 1
        self._consumers = counts

    def _connect(self, run_id: str, store: ArtifactStore) -> RunCluster:
        with self._lock:
            if self._cluster is not None:
                return self._cluster
            if self._stopping:
                raise BackendError(f"dask: run {run_id} was stopped")
            cluster = RunCluster(
                self.address,
                n_workers=self.n_workers,
                threads_per_worker=self.threads_per_worker,
                memory_limit=self.memory_limit,
                dashboard=self.dashboard,
                connect_timeout=self.connect_timeout,
            )
            try:
                cluster.check_store(store.root)
                cluster.client.subscribe_topic(self._topic(run_id), self._watch.on_event)
            except BaseException:
                cluster.close()
                raise
            self._cluster, self._run_id = cluster, run_id
            self._watch.run_id = run_id
        return cluster

    @staticmethod
    def _topic(run_id: str) -> str:
        return f"flowyml-{run_id}"

    def _prefix(self) -> str:
        return f"flowyml-{self._run_id}-"

    def validate(self) -> bool:
        """Connect to the cluster and check that every worker sees the project's artifact
        store; closes what it opened.

        Raises:
            BackendError: naming the unreachable scheduler or the workers that cannot see
                the store.
        """
        cluster = RunCluster(
            self.address,
            n_workers=1,
            threads_per_worker=1,
            memory_limit=self.memory_limit,
            dashboard=False,
            connect_timeout=self.connect_timeout,
        )
        try:
            cluster.check_store(open_project().artifact_store().root)
        finally:
            cluster.close()
        return True

    def to_dict(self) -> dict[str, Any]:
        """The settings, as the stack would write them."""
        return {
            "backend": self.name,
            "address": self.address,
            "n_workers": self.n_workers,
            "threads_per_worker": self.threads_per_worker,
            "memory_limit": self.memory_limit,
            "max_in_flight": self.max_workers,
        }

    def cancel(self) -> None:
        """Cancel the run's tasks and stop those already running (Ctrl-C, a stop)."""
        self._stopping = True
        cluster = self._cluster
        if cluster is None:
            return
        cluster.stop_tasks(self._watch.in_flight(), self._prefix())

    def close(self) -> None:
        """End the run on the cluster: let its values go, disconnect, close what it made."""
        self._stopping = True
        with self._lock:
            cluster, self._cluster = self._cluster, None
            self._values.clear()
        if cluster is None:
            return
        in_flight = self._watch.in_flight()
        if in_flight:
            cluster.stop_tasks(in_flight, self._prefix())
        cluster.close()

    def end_run(self, run_id: str) -> None:
        """The run is recorded: close what was opened for it (the core calls this)."""
        self.close()

    def launch(self, args: list[str], **_: Any) -> LaunchOutcome:
        """Not used: groups run as Dask tasks (:meth:`run_steps`), not as step-runner
        commands."""
        raise BackendError("dask: groups run as Dask tasks, never through `flowyml step-runner`")

    def _on_log(self, step_name: str, text: str) -> None:
        live = live_output(self._run_id, step_name) if self._run_id else None
        if live is not None:  # the run store shows it while the step runs
            live(text)
        if not self.echo_logs:
            return
        relay = self.step_output
        if relay is not None:
            relay.write(step_name, text)
        else:
            sys.stdout.write(text)
            sys.stdout.flush()

    # -- running groups --------------------------------------------------------------
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
        """Submit the group as one task once, and again when its worker died and the first
        member's retry policy allows; one result per member that ran."""
        store = artifact_store or open_project().artifact_store()
        cluster = self._connect(run_id or "adhoc-" + os.urandom(4).hex(), store)
        first = steps[0].name
        if self._watch.lost:
            return [_failed(first, f"step '{first}' was not submitted: {self._watch.lost}")]
        wanted = dask_resources(resources)
        if wanted:
            missing = cluster.missing_resources(wanted)
            if missing:
                return [
                    _failed(
                        first,
                        f"step '{first}' needs {', '.join(missing)}, which no worker of the "
                        f"Dask cluster offers (workers: {cluster.advertised()}); start a worker "
                        'with `dask worker ADDRESS --resources "NAME=N"` or lower the '
                        "step's ResourceConfig",
                    )
                ]
        specs = {name: self._spec(name, value) for name, value in inputs.items()}
        notes: list[str] = []
        avoid: list[str] = []
        attempt = 0
        lost_to_us = False
        while True:
            key = f"{self._prefix()}{group}-{next(self._numbers)}"
            workers = [w for w in cluster.workers() if w not in avoid] if avoid else None
            try:
                future = cluster.client.submit(
                    run_group,
                    [step_spec(s) for s in steps],
                    specs,
                    params,
                    store.root,
                    self._run_id,
                    project_name,
                    self._topic(self._run_id or ""),
                    key,
                    key=key,
                    resources=wanted or None,
                    workers=workers or None,
                    allow_other_workers=bool(workers),
                    pure=False,
                )
            except Exception as exc:  # e.g. a step or input that cannot pickle
                return [_failed(first, f"step '{first}' cannot be sent to Dask: {words(exc)}")]
            try:
                records = self._wait(key, future, cluster, first)
            except WorkerDied as died:
                if died.address in self._restarted and not self._stopping and not lost_to_us:
                    # Lost to this run's restart of a worker a stuck step held: not the
                    # group's failure, so not one of its attempts.
                    lost_to_us = True
                    notes.append(f"flowyml-dask: '{group}' resubmitted: {died}\n")
                    continue
                policy = steps[0].retry
                if not self._stopping and policy.should_retry(died, attempt):
                    attempt += 1
                    notes.append(f"flowyml-dask: attempt {attempt} of '{group}' lost: {died}\n")
                    avoid.append(died.address)
                    time.sleep(policy.delay(attempt))
                    continue
                return [_failed(first, f"step '{first}' failed: {died}", retries=attempt)]
            break
        stuck = {r.pop("stuck_on") for r in records if r.get("stuck_on")}
        if stuck:
            future.release()  # its values go with the worker; unheld, Dask will not recompute
            for address in stuck:
                self._restart_stuck(cluster, address)
        results = [ExecutionResult.model_validate(record) for record in records]
        if notes:
            results = [
                r.model_copy(
                    update={"retries": r.retries + attempt, "logs": "".join(notes) + r.logs}
                )
                for r in results
            ]
        for member, result in zip(steps, results, strict=False):
            if result.success and not result.skipped and not stuck:
                for name, uri in result.outputs.items():
                    self._values[name] = (future, uri)
            if self.step_output is not None:
                self.step_output.flush(member.name)
        return results

    def _spec(self, name: str, value: Any) -> InputSpec:
        """How input ``name`` reaches the worker: the producer's task result when it is
        still on the cluster, else its stored artifact, else the value itself."""
        uri = getattr(value, "uri", None)
        held = self._values.get(name)
        if held is not None and (uri is None or uri == held[1]):
            left = self._consumers.get(name, 1) - 1
            self._consumers[name] = left
            if left <= 0:
                self._values.pop(name, None)  # the consumer's task keeps what it needs
            return ("task", held[0], name)
        if uri is not None:
            return ("ref", uri)
        if hasattr(value, "has_value") and hasattr(value, "fingerprint"):
            return ("value", value.value)  # an in-memory artifact (an input of the run)
        return ("value", value)

    def _wait(
        self, key: str, future: Any, cluster: RunCluster, step_name: str
    ) -> list[dict[str, Any]]:
        """The records of a group task (see :meth:`TaskWatch.wait`).

        Raises:
            WorkerDied: its worker died while running it.
        """
        try:
            return self._watch.wait(key, future, cluster, step_name, lambda: self._stopping)
        except WorkerDied:
            raise  # one attempt lost: the retry policy decides, the run goes on
        except BaseException:
            # Ctrl-C: this run's tasks must not run on; the stop asks the scheduler where
            # they run before cancelling them.
            self.cancel()
            raise

    def _restart_stuck(self, cluster: RunCluster, address: str) -> None:
        """Restart a worker whose step thread did not stop at its timeout; values held only
        there are read from the artifact store by their later consumers instead."""
        held = {name: future for name, (future, _uri) in self._values.items()}
        for name in cluster.held_only_on(address, held):
            self._values.pop(name, None)
        self._restarted.add(address)
        cluster.restart_workers([address], "to stop a step past its timeout")


def _failed(step_name: str, error: str, retries: int = 0) -> ExecutionResult:
    return ExecutionResult(step_name=step_name, success=False, error=error, retries=retries)
