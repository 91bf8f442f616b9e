"""The ``VertexExecutor``: each step group runs as one Vertex AI CustomJob.

A thin :class:`~flowyml.backend.TaskExecutor`: the core writes the group's task to
the ``gs://`` artifact store and reads its result manifest back; this module creates the
CustomJob whose container runs ``flowyml step-runner --steps ...``, polls it with a
growing interval (no busy loop) while copying its Cloud Logging lines to the run's log
and the console, and cancels it when the run is stopped or the group times out.
"""

from __future__ import annotations

import re
import signal
import threading
from typing import Any

from flowyml.backend import (
    ArtifactStore,
    BackendError,
    Backoff,
    ConfigError,
    ExecutionStatus,
    LaunchOutcome,
    ResourceConfig,
    RunTracker,
    TaskExecutor,
    watch_handle,
)
from flowyml_gcp.api import GoogleApis
from flowyml_gcp.job_logs import LogCursor
from flowyml_gcp.job_spec import custom_job, label_value, machine_type_for
from flowyml_gcp.job_states import state_name, status_of

__all__ = ["VertexExecutor", "exit_code_of"]

_EXIT_RE = re.compile(r"non-zero status of (\d+)")


def exit_code_of(job: Any) -> int:
    """The container's exit code, as far as a finished job tells it (1 when unknown)."""
    if status_of(job.state) is ExecutionStatus.SUCCESS:
        return 0
    match = _EXIT_RE.search(job.error.message or "")
    return int(match.group(1)) if match else 1


def _iso(stamp: Any) -> str | None:
    if not stamp:
        return None
    return stamp.isoformat() if hasattr(stamp, "isoformat") else str(stamp)


class VertexExecutor(TaskExecutor):
    """Runs each step or step group as a Vertex AI CustomJob through the step runner.

    Args:
        apis: the Google API clients (and the settings they were built from).
        state: the run's tracker (jobs, logs, cancellation).
        image_uri: the pushed image holding flowyml and the project.
        pipeline_ref: the pipeline's reference inside the image.
        env: environment variables of the job containers.
        default_resources: resources of groups that ask for none.
    """

    name = "vertex_ai"

    def __init__(
        self,
        apis: GoogleApis,
        state: RunTracker,
        image_uri: str,
        pipeline_ref: str | None = None,
        env: dict[str, str] | None = None,
        default_resources: ResourceConfig | None = None,
    ) -> None:
        self.apis = apis
        self.config = apis.config
        self.state = self.run_tracker = state
        self.image_uri = image_uri
        self.pipeline_ref = pipeline_ref
        self.env = dict(env or {})
        self.default_resources = default_resources
        self.max_workers = self.config.max_parallel
        self._wake = threading.Event()

    # -- the TaskExecutor contract ----------------------------------------------------------
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
        """Create the group's CustomJob, follow it to its end, and say how it ended."""
        record = self.state.group(group)
        stopped = self.stopped_before_launch(group)
        if stopped is not None:
            return stopped
        limits = (resources or ResourceConfig()).with_defaults(self.default_resources)
        try:
            job = custom_job(
                config=self.config,
                display_name=f"flowyml-{label_value(run_id)}-{label_value(group)}",
                image_uri=self.image_uri,
                args=[*args, "--steps", ",".join(record.steps)],
                resources=limits,
                run_id=run_id,
                group=group,
                env=self.env,
                base_output_uri=f"{artifact_store.root}/runs/{run_id}/jobs/{group}",
            )
        except ConfigError as exc:
            self.state.update(group, status=ExecutionStatus.FAILED, error=str(exc))
            return LaunchOutcome(1, reason=f"could not be submitted: {exc}")
        spec = job.job_spec.worker_pool_specs[0]
        self.state.update(
            group,
            resources=limits.model_dump(exclude_defaults=True),
            machine={
                "machine_type": machine_type_for(limits, self.config.machine_type),
                "accelerator_type": spec.machine_spec.accelerator_type.name if limits.gpu else None,
                "accelerator_count": spec.machine_spec.accelerator_count,
                "replica_count": spec.replica_count,
                "boot_disk_size_gb": spec.disk_spec.boot_disk_size_gb,
            },
        )
        calls_before = self.apis.counter.total()
        try:
            created = self.apis.call(
                "CreateCustomJob",
                self.apis.jobs().create_custom_job,
                f"create the CustomJob of group '{group}' of run {run_id}",
                parent=self.config.parent,
                custom_job=job,
            )
        except BackendError as exc:
            self.state.update(group, status=ExecutionStatus.FAILED, error=str(exc))
            self.state.log(str(exc), group, "ERROR")
            return LaunchOutcome(1, reason=f"could not be submitted to Vertex AI: {exc}")
        name = created.name
        self.state.log(f"CustomJob {name} created for group '{group}'", group)
        if not self.state.handle_created(group, name):
            self._cancel_job(name)  # stop_run came between the create and this line
        try:
            return self._follow(name, group, timeout)
        finally:
            self.state.update(group, api_calls=self.apis.counter.total() - calls_before)

    # -- one job ------------------------------------------------------------------------------
    def _follow(self, name: str, group: str, timeout: float | None) -> LaunchOutcome:
        cursor = LogCursor(name, group)
        last: dict[str, Any] = {}

        def poll() -> tuple[ExecutionStatus, dict[str, Any]]:
            job = self.apis.call(
                "GetCustomJob", self.apis.jobs().get_custom_job, f"get job {name}", name=name
            )
            last["job"] = job
            return status_of(job.state), {
                "state": state_name(job.state),
                "started_at": _iso(job.start_time),
            }

        watched = watch_handle(
            self.state,
            group,
            poll=poll,
            read_logs=lambda: cursor.poll(self.apis),
            stop=lambda: self._cancel_job(name),
            timeout=timeout,
            backoff=Backoff(self.config.poll_initial_seconds, self.config.poll_max_seconds),
            wake=self._wake,
        )
        job, status, timed_out = last["job"], watched.status, watched.timed_out
        error = job.error.message or None
        self.state.update(group, finished_at=_iso(job.end_time), error=error)
        severity = "INFO" if status.is_successful else "ERROR"
        self.state.log(f"CustomJob {name} ended {state_name(job.state)}", group, severity)
        reason = None
        if status is ExecutionStatus.CANCELLED and not timed_out:
            reason = "was cancelled: the run was stopped"
        elif status is ExecutionStatus.FAILED and not _EXIT_RE.search(error or ""):
            reason = f"failed on Vertex AI ({state_name(job.state)}): {error or 'no error given'}"
        code = -signal.SIGTERM if status is ExecutionStatus.CANCELLED else exit_code_of(job)
        stopped = status is ExecutionStatus.CANCELLED and not timed_out
        return LaunchOutcome(code, "\n".join(watched.lines), timed_out, reason, cancelled=stopped)

    def _cancel_job(self, name: str) -> None:
        self.state.stop_once(name, lambda: self._send_cancel(name))

    def _send_cancel(self, name: str) -> None:
        from google.api_core.exceptions import FailedPrecondition

        try:
            self.apis.call(
                "CancelCustomJob",
                self.apis.jobs().cancel_custom_job,
                f"cancel job {name}",
                name=name,
            )
        except BackendError as exc:
            if not isinstance(exc.__cause__, FailedPrecondition):
                raise
            # Already finished: nothing left to cancel.

    def cancel(self) -> None:
        """Stop the run: submit no further group and cancel every running job."""
        self.state.cancel()
        self._wake.set()  # pollers notice at once instead of after their back-off
        for name in self.state.handles(live_only=True):
            try:
                self._cancel_job(name)
            except BackendError as exc:
                self.state.log(f"could not cancel {name}: {exc}", severity="WARNING")
