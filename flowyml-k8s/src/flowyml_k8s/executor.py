"""The ``KubernetesExecutor``: each step group runs as one batch/v1 Job.

A thin :class:`~flowyml.backend.TaskExecutor`: the core writes the group's task to the
artifact store and reads its result manifest back; this module creates the group's env
Secret and Job, follows them with :func:`~flowyml.backend.watch_handle` (a growing wait
between looks, never a busy loop) while copying the pod's log, and deletes the Job
(foreground: its pod goes first) when the run is stopped, the step's deadline passed, the
image cannot be pulled or the pod cannot be placed in time.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from typing import Any

from flowyml.backend import (
    ArtifactStore,
    BackendError,
    Backoff,
    ExecutionResult,
    ExecutionStatus,
    LaunchOutcome,
    ResourceConfig,
    ResourceUsage,
    RunTracker,
    TaskExecutor,
    parse_memory,
    watch_handle,
)
from flowyml_docker.secrets import Redactor
from flowyml_k8s.api import KubeApis, NotFound
from flowyml_k8s.job_spec import JobPlan, job_manifest, secret_manifest
from flowyml_k8s.job_states import JobState, describe, job_state
from flowyml_k8s.pod_logs import PodLogCursor
from flowyml_k8s.run_objects import delete_job, delete_run_objects

__all__ = ["KubernetesExecutor"]


class KubernetesExecutor(TaskExecutor):
    """Runs each step or step group as a Kubernetes Job through the step runner.

    Args:
        apis: the cluster (and the settings it was made from).
        tracker: the run's tracker (Jobs, logs, cancellation).
        image: the image reference pods pull.
        pipeline_ref: the pipeline's reference inside the image.
        env: plain environment variables of the pods.
        secret_env: secret environment variables (they go into a Secret, never the Job).
        artifact_path: where the artifact claim is mounted (``None``: no claim).
        default_resources: resources of groups that ask for none.
    """

    name = "kubernetes"

    def __init__(
        self,
        apis: KubeApis,
        tracker: RunTracker,
        image: str,
        *,
        pipeline_ref: str | None = None,
        env: dict[str, str] | None = None,
        secret_env: dict[str, str] | None = None,
        artifact_path: str | None = None,
        default_resources: ResourceConfig | None = None,
    ) -> None:
        self.apis = apis
        self.config = apis.config
        self.tracker = self.run_tracker = tracker
        self.image = image
        self.pipeline_ref = pipeline_ref
        self.env = dict(env or {})
        self._secret_env = dict(secret_env or {})
        self.redactor = Redactor(self._secret_env.values())
        self.artifact_path = artifact_path
        self.default_resources = default_resources
        self.max_workers = self.config.max_parallel
        self._wake = threading.Event()

    # -- the TaskExecutor contract --------------------------------------------------------
    def run_steps(self, *args: Any, **kwargs: Any) -> list[ExecutionResult]:
        """Run the group in one Job; its results hold no secret value."""
        return [self.redactor.result(r) for r in super().run_steps(*args, **kwargs)]

    def plan_for(
        self,
        run_id: str,
        group: str,
        steps: list[str],
        args: list[str],
        timeout: float | None,
        resources: ResourceConfig | None,
    ) -> JobPlan:
        """What the group's Job is made from."""
        return JobPlan(
            run_id=run_id,
            group=group,
            steps=steps,
            image=self.image,
            args=args,
            env=self.env,
            secret_keys=sorted(self._secret_env),
            resources=(resources or ResourceConfig()).with_defaults(self.default_resources),
            timeout=timeout,
            artifact_path=self.artifact_path,
        )

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
        """Create the group's Secret and Job, follow the Job to its end, say how it ended."""
        record = self.tracker.group(group)
        stopped = self.stopped_before_launch(group)
        if stopped is not None:
            return stopped
        plan = self.plan_for(run_id, group, record.steps, args, timeout, resources)
        calls_before = self.apis.total()
        try:
            self._create(plan)
        except BackendError as exc:
            message = self.redactor.text(str(exc))
            self.tracker.update(group, status=ExecutionStatus.FAILED, error=message)
            self.tracker.log(message, group, "ERROR")
            return LaunchOutcome(1, reason=f"could not be submitted to Kubernetes: {message}")
        self.tracker.update(
            group,
            image=self.image,
            resources=plan.resources.model_dump(exclude_defaults=True),
            namespace=self.apis.namespace,
        )
        self.tracker.log(f"Job {plan.name} created for group '{group}'", group)
        if not self.tracker.handle_created(group, plan.name):
            delete_job(self.apis, plan.name)  # stop_run came between the create and here
        try:
            return self._follow(plan, timeout)
        finally:
            self.tracker.update(group, api_calls=self.apis.total() - calls_before)

    def _create(self, plan: JobPlan) -> None:
        namespace = self.apis.namespace
        secret = None
        if plan.secret_keys:
            body = secret_manifest(plan, self.config, namespace, self._secret_env)
            secret = self.apis.request(
                "POST",
                self.apis.core_path("secrets"),
                f"create Secret {plan.secret_name}",
                body=body,
            )
        try:
            job = self.apis.request(
                "POST",
                self.apis.jobs_path(),
                f"create Job {plan.name}",
                body=job_manifest(plan, self.config, namespace),
            )
        except BackendError:
            if secret is not None:
                self._delete_secret(plan.secret_name)
            raise
        if secret is not None:
            owner = {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "name": plan.name,
                "uid": job["metadata"]["uid"],
            }
            self.apis.request(
                "PATCH",
                self.apis.core_path("secrets", plan.secret_name),
                f"make Job {plan.name} the owner of Secret {plan.secret_name}",
                body={"metadata": {"ownerReferences": [owner]}},
            )

    def _delete_secret(self, name: str) -> None:
        with contextlib.suppress(NotFound):  # already gone: what we wanted
            self.apis.request("DELETE", self.apis.core_path("secrets", name), f"delete {name}")

    # -- one Job ----------------------------------------------------------------------------
    def _read(self, plan: JobPlan) -> JobState:
        try:
            job: dict[str, Any] | None = self.apis.request(
                "GET", self.apis.jobs_path(plan.name), f"read Job {plan.name}"
            )
        except NotFound:
            job = None
        pods = self.apis.request(
            "GET",
            self.apis.core_path("pods"),
            f"list the pods of Job {plan.name}",
            query={"labelSelector": f"job-name={plan.name}"},
        ).get("items", [])
        return job_state(job, pods, plan.resources.memory)

    def _follow(self, plan: JobPlan, timeout: float | None) -> LaunchOutcome:
        group = plan.group
        started = time.monotonic()
        cursor = PodLogCursor(self.apis, group, self.redactor.text)
        last: dict[str, Any] = {}
        waiting_since: list[float] = []
        stopping = threading.Event()

        def fail(state: JobState, reason: str) -> JobState:
            delete_job(self.apis, plan.name)
            state.status, state.reason, state.exit_code = ExecutionStatus.FAILED, reason, 1
            return state

        def poll() -> tuple[ExecutionStatus, dict[str, Any]]:
            state = self._read(plan)
            if state.status is ExecutionStatus.CANCELLED and not (
                stopping.is_set() or self.tracker.is_cancelled()
            ):
                state.status = ExecutionStatus.FAILED
                state.reason = "lost its Job: it was deleted before it ended (by someone else?)"
            elif state.fail_now:
                state = fail(state, state.reason or "could not start")
            elif state.waiting:
                waiting_since.append(time.monotonic())
                if waiting_since[-1] - waiting_since[0] > self.config.start_deadline_seconds:
                    state = fail(
                        state,
                        f"could not start within start_deadline_seconds="
                        f"{self.config.start_deadline_seconds:g}: {state.waiting}",
                    )
            last["state"] = state
            return state.status, {k: v for k, v in state.facts.items() if v is not None}

        def stop() -> None:
            stopping.set()
            delete_job(self.apis, plan.name)

        watched = watch_handle(
            self.tracker,
            group,
            poll=poll,
            read_logs=lambda: cursor.poll(_log_source(last.get("state"))),
            stop=stop,
            timeout=None if not timeout else timeout + self.config.deadline_slack_seconds,
            backoff=Backoff(self.config.poll_initial_seconds, self.config.poll_max_seconds),
            wake=self._wake,
        )
        self.tracker.add(rest := cursor.rest())
        lines = watched.lines + [e.message for e in rest]
        state: JobState = last["state"]
        timed_out = state.timed_out or watched.timed_out
        stopped = watched.status is ExecutionStatus.CANCELLED or watched.stopped
        if stopped and not watched.status.is_successful and not timed_out:
            self.tracker.update(group, status=ExecutionStatus.CANCELLED, error="run stopped")
            self.tracker.log(f"Job {plan.name} deleted: the run was stopped", group, "WARNING")
            return LaunchOutcome(
                -signal.SIGTERM,
                "\n".join(lines),
                reason="was cancelled: the run was stopped",
                cancelled=True,
            )
        if watched.status.is_successful:
            self.tracker.update(group, exit_code=0)
            self.tracker.log(f"Job {plan.name} completed", group)
            return LaunchOutcome(0, "\n".join(lines))
        if timed_out:
            error = f"DeadlineExceeded: ran past its timeout of {timeout} s"
            self.tracker.update(group, status=ExecutionStatus.FAILED, error=error)
            self.tracker.log(f"Job {plan.name} {describe(state)}", group, "ERROR")
            return LaunchOutcome(-signal.SIGKILL, "\n".join(lines), timed_out=True)
        code = state.exit_code if state.exit_code is not None else 1
        error = describe(state)
        self.tracker.update(group, status=ExecutionStatus.FAILED, exit_code=code, error=error)
        self.tracker.log(f"Job {plan.name} failed: {error}", group, "ERROR")
        usage = None
        if state.oom_killed:
            memory = plan.resources.memory
            limit = parse_memory(memory) if memory else None
            usage = ResourceUsage.killed_for_memory(limit, time.monotonic() - started)
        return LaunchOutcome(code, "\n".join(lines), reason=state.reason, usage=usage)

    def cancel(self) -> None:
        """Stop the run: submit no further group and delete every Job of it."""
        self.tracker.cancel()
        self._wake.set()  # pollers notice at once instead of after their back-off
        delete_run_objects(self.apis, self.tracker.run_id)


def _log_source(state: JobState | None) -> str | None:
    """The pod whose log can be read now (a pod still pending has none)."""
    if state is None or state.facts.get("phase") in (None, "Pending"):
        return None
    return state.pod
