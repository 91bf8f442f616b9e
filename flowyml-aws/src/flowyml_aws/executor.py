"""The ``SageMakerExecutor``: each step group runs as one SageMaker training job.

A thin :class:`~flowyml.backend.TaskExecutor`: the core writes the group's task to the
``s3://`` artifact store and reads its result manifest back; this module creates the
training job whose container runs ``flowyml step-runner ...`` (through
:mod:`flowyml_aws.entry`), follows it with ``DescribeTrainingJob`` at growing intervals
(no busy loop) while copying its CloudWatch lines to the run's log, and stops it
(``StopTrainingJob``) when the run is stopped or the group's timeout passes.
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
    describe_exit,
    watch_handle,
)
from flowyml_aws.clients import AwsClients, error_code
from flowyml_aws.job_logs import LogCursor
from flowyml_aws.job_request import job_name, training_job_request
from flowyml_aws.job_states import TIMEOUT_STATUSES, is_timeout, status_of

__all__ = ["SageMakerExecutor", "exit_code_of"]

_EXIT_RE = re.compile(r"exit code:? (\d+)")


def exit_code_of(job: dict[str, Any]) -> int:
    """The container's exit code, as far as a finished job tells it (1 when unknown)."""
    if job.get("TrainingJobStatus") == "Completed":
        return 0
    match = _EXIT_RE.search(job.get("FailureReason") or "")
    return int(match.group(1)) if match else 1


def _iso(stamp: Any) -> str | None:
    return stamp.isoformat() if hasattr(stamp, "isoformat") else None


def _state(job: dict[str, Any]) -> str:
    return f"{job.get('TrainingJobStatus')}/{job.get('SecondaryStatus')}"


class SageMakerExecutor(TaskExecutor):
    """Runs each step or step group as a SageMaker training job through the step runner.

    Args:
        clients: the AWS clients (and the settings they were built from).
        state: the run's tracker (jobs, logs, cancellation).
        image_uri: the pushed image holding flowyml and the project.
        pipeline: the pipeline's name (a tag of every job).
        pipeline_ref: the pipeline's reference inside the image.
        env: environment variables of the job containers (no secret values).
        output_uri: ``s3://`` folder for the jobs' own output.
        default_resources: resources of groups that ask for none.
    """

    name = "sagemaker"

    def __init__(
        self,
        clients: AwsClients,
        state: RunTracker,
        image_uri: str,
        *,
        pipeline: str,
        output_uri: str,
        pipeline_ref: str | None = None,
        env: dict[str, str] | None = None,
        default_resources: ResourceConfig | None = None,
    ) -> None:
        self.clients = clients
        self.config = clients.config
        self.state = self.run_tracker = state
        self.image_uri = image_uri
        self.pipeline = pipeline
        self.output_uri = output_uri
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
        """Create the group's training job, follow it to its end, say how it ended."""
        record = self.state.group(group)
        stopped = self.stopped_before_launch(group)
        if stopped is not None:
            return stopped
        limits = (resources or ResourceConfig()).with_defaults(self.default_resources)
        name = job_name(run_id, group)
        try:
            request = training_job_request(
                config=self.config,
                name=name,
                image_uri=self.image_uri,
                args=[*args, "--steps", ",".join(record.steps)],
                env=self.env,
                resources=limits,
                run_id=run_id,
                group=group,
                pipeline=self.pipeline,
                output_uri=f"{self.output_uri}/runs/{run_id}/jobs",
                timeout=timeout,
            )
        except ConfigError as exc:
            self.state.update(group, status=ExecutionStatus.FAILED, error=str(exc))
            return LaunchOutcome(1, reason=f"could not be submitted: {exc}")
        self.state.update(
            group,
            resources=limits.model_dump(exclude_defaults=True),
            machine={
                "instance_type": request["ResourceConfig"]["InstanceType"],
                "instance_count": 1,
                "volume_size_gb": request["ResourceConfig"]["VolumeSizeInGB"],
                "max_runtime_seconds": request["StoppingCondition"]["MaxRuntimeInSeconds"],
            },
        )
        calls_before = self.clients.total()
        try:
            self.clients.call(
                "sagemaker",
                "create_training_job",
                f"create training job {name} (group '{group}' of run {run_id})",
                **request,
            )
        except BackendError as exc:
            self.state.update(group, status=ExecutionStatus.FAILED, error=str(exc))
            self.state.log(str(exc), group, "ERROR")
            return LaunchOutcome(1, reason=f"could not be submitted to SageMaker: {exc}")
        self.state.log(f"training job {name} created for group '{group}'", group)
        if not self.state.handle_created(group, name):
            self._stop_job(name)  # stop_run came between the create and this line
        try:
            return self._follow(name, group, timeout)
        finally:
            self.state.update(group, api_calls=self.clients.total() - calls_before)

    # -- one job ------------------------------------------------------------------------------
    def describe(self, name: str) -> dict[str, Any]:
        """``DescribeTrainingJob`` of ``name``."""
        return self.clients.call(
            "sagemaker",
            "describe_training_job",
            f"describe training job {name}",
            TrainingJobName=name,
        )

    def _follow(self, name: str, group: str, timeout: float | None) -> LaunchOutcome:
        cursor = LogCursor(name, group)
        last: dict[str, Any] = {}

        def poll() -> tuple[ExecutionStatus, dict[str, Any]]:
            job = last["job"] = self.describe(name)
            status = status_of(job["TrainingJobStatus"], job.get("SecondaryStatus"))
            return status, {"state": _state(job), "started_at": _iso(job.get("TrainingStartTime"))}

        def read_logs() -> list[Any]:
            ended = "job" in last and last["job"]["TrainingJobStatus"] in (
                "Completed",
                "Failed",
                "Stopped",
            )
            return cursor.poll(self.clients, relist=ended)

        watched = watch_handle(
            self.state,
            group,
            poll=poll,
            read_logs=read_logs,
            stop=lambda: self._stop_job(name),
            timeout=timeout,
            backoff=Backoff(self.config.poll_initial_seconds, self.config.poll_max_seconds),
            wake=self._wake,
        )
        job = last["job"]
        primary, secondary = job["TrainingJobStatus"], job.get("SecondaryStatus")
        failure = job.get("FailureReason")
        runtime = job.get("StoppingCondition", {}).get("MaxRuntimeInSeconds")
        sagemaker_timeout = is_timeout(primary, secondary, failure)
        error = failure or (secondary if sagemaker_timeout else None)
        self.state.update(group, finished_at=_iso(job.get("TrainingEndTime")), error=error)
        status = watched.status
        severity = "INFO" if status.is_successful else "ERROR"
        self.state.log(f"training job {name} ended {_state(job)}", group, severity)
        code = exit_code_of(job)
        if sagemaker_timeout:
            limit = f"its {timeout:g} s timeout" if timeout else "max_runtime_seconds"
            why = secondary if secondary in TIMEOUT_STATUSES else failure
            timed_out = (
                f"exceeded its time: SageMaker stopped training job {name} ({why}, "
                f"MaxRuntimeInSeconds={runtime}, from {limit})"
            )
            return LaunchOutcome(-signal.SIGTERM, "\n".join(watched.lines), False, timed_out)
        stopped = status is ExecutionStatus.CANCELLED and not watched.timed_out
        reason: str | None = None
        if stopped:
            reason = "was stopped: the run was stopped"
            code = -signal.SIGTERM
        elif status is ExecutionStatus.CANCELLED:
            code = -signal.SIGTERM
        elif status is ExecutionStatus.FAILED and not _EXIT_RE.search(failure or ""):
            reason = f"failed on SageMaker ({_state(job)}): {failure or 'no reason given'}"
        elif status is ExecutionStatus.FAILED and failure:
            reason = f"crashed: process {describe_exit(code)} (SageMaker: {failure})"
            if "OutOfMemory" in failure:
                reason += "; ask for more memory in the step's resources"
        return LaunchOutcome(code, "\n".join(watched.lines), watched.timed_out, reason, stopped)

    def _stop_job(self, name: str) -> None:
        self.state.stop_once(name, lambda: self._send_stop(name))

    def _send_stop(self, name: str) -> None:
        try:
            self.clients.call(
                "sagemaker", "stop_training_job", f"stop training job {name}", TrainingJobName=name
            )
        except BackendError as exc:
            if error_code(exc.__cause__) != "ValidationException" or "status" not in str(exc):
                raise
            # Already finished (or stopping): nothing left to stop.

    def cancel(self) -> None:
        """Stop the run: submit no further group and stop every running job."""
        self.state.cancel()
        self._wake.set()  # pollers notice at once instead of after their back-off
        for name in self.state.handles(live_only=True):
            try:
                self._stop_job(name)
            except BackendError as exc:
                self.state.log(f"could not stop {name}: {exc}", severity="WARNING")
