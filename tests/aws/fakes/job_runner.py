"""Runs one fake SageMaker training job for real, on the local Docker engine.

Starting → Downloading (image pull) → Training (container running) → Uploading →
Completed, or Failed / Stopping → Stopped / Stopped (MaxRuntimeExceeded):

* exit 0 → Completed; another exit code → Failed, ``FailureReason`` "AlgorithmError: ...
  exit code: N" (OOM-killed → "OutOfMemoryError: ...");
* an image that cannot be pulled → Failed, ``FailureReason`` "ClientError: ..." naming it;
* ``StopTrainingJob`` → Stopping, SIGTERM, SIGKILL after ``stop_grace_seconds``
  (SageMaker allows 120 s), then Stopped whatever the exit code;
* ``MaxRuntimeInSeconds`` passed since Training began → the container is stopped the same
  way and the job ends ``Stopped`` with SecondaryStatus ``MaxRuntimeExceeded``, as the API
  reference lists it (``RunnerSettings.max_runtime_status="Failed"`` reports it as Failed
  instead, for backends that must handle both).

The terminal status is set only once every output line is in CloudWatch Logs and the
container is removed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from .cloudwatch_logs import LogShipper, stream_name
from .containers import ContainerLauncher, ContainerSpec, ImageUnavailable, instance_memory_bytes
from .training_jobs import JobTable, TrainingJob

__all__ = ["JobRunner", "RunnerSettings"]


@dataclass(frozen=True)
class RunnerSettings:
    """How jobs are run.

    Attributes:
        network_mode: ``none`` (default) or ``host``; ``host`` lets the job reach the
            loopback fakes (moto's S3) and adds ``container_env`` to its environment.
        container_env: Extra environment for every job before its own ``Environment``
            (the fixtures put moto's endpoint and the dummy keys here in ``host`` mode).
        stop_grace_seconds: SIGTERM to SIGKILL on stop or timeout (SageMaker: 120 s).
        max_runtime_status: ``Stopped`` (the API reference) or ``Failed``.
        apply_instance_memory: Limit container memory to the instance type's memory.
        keep_containers: Leave finished containers on the engine (debugging only: the
            fixtures' leftover check then fails).
    """

    network_mode: str = "none"
    container_env: dict[str, str] = field(default_factory=dict)
    stop_grace_seconds: float = 2.0
    max_runtime_status: Literal["Stopped", "Failed"] = "Stopped"
    apply_instance_memory: bool = False
    keep_containers: bool = False


# (secondary status, status message, failure reason) a job ends with.
Verdict = tuple[str, str, str | None]


class JobRunner:
    """Starts and stops the job threads of one fake SageMaker."""

    def __init__(
        self,
        table: JobTable,
        launcher: ContainerLauncher,
        logs_client: Callable[[], Any],
        settings: RunnerSettings,
    ) -> None:
        self.table = table
        self.launcher = launcher
        self.logs_client = logs_client
        self.settings = settings
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._shutting_down = False

    def submit(self, job: TrainingJob) -> None:
        """Run the job in its own thread."""
        thread = threading.Thread(target=self._run, args=(job,), name=f"sm-{job.name}", daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def stop(self, job: TrainingJob) -> None:
        """``StopTrainingJob``: Stopping now, Stopped once the container is gone.

        Must be called with ``table.lock`` held and the job InProgress.
        """
        if job.stop_requested:
            return
        job.stop_requested = True
        self.table.advance(job, "Stopping", "Stopping the training job")
        if job.container is not None:
            self._stop_in_background(job.container)

    def stop_all(self) -> None:
        """Kill every unfinished job at once (the server is stopping)."""
        with self.table.lock:
            self._shutting_down = True
            for job in self.table.jobs():
                if not job.finished.is_set():
                    job.stop_requested = True
                    if job.container is not None:
                        self._stop_in_background(job.container)

    def join(self, timeout: float) -> None:
        """Wait for every job thread to end."""
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)

    def _stop_in_background(self, container: Any) -> None:
        grace = 0.0 if self._shutting_down else self.settings.stop_grace_seconds
        threading.Thread(
            target=self.launcher.stop, args=(container, grace), name="sm-stop", daemon=True
        ).start()

    def _spec(self, job: TrainingJob) -> ContainerSpec:
        request = job.request
        algorithm = request["AlgorithmSpecification"]
        env = {"TRAINING_JOB_NAME": job.name, "TRAINING_JOB_ARN": job.arn}
        if self.settings.network_mode == "host":
            env |= self.settings.container_env
        env |= request.get("Environment") or {}
        memory = None
        if self.settings.apply_instance_memory:
            memory = instance_memory_bytes(request["ResourceConfig"]["InstanceType"])
        return ContainerSpec(
            image=self.launcher.resolve_image(algorithm["TrainingImage"]),
            entrypoint=list(algorithm.get("ContainerEntrypoint") or []),
            arguments=list(algorithm.get("ContainerArguments") or []),
            env=env,
            memory_bytes=memory,
        )

    def _stopped_before_start(self, job: TrainingJob) -> bool:
        with self.table.lock:
            if job.stop_requested:
                self.table.advance(job, "Stopped", "The job was stopped before it started.")
                return True
            return False

    def _run(self, job: TrainingJob) -> None:
        container = None
        verdict: Verdict = ("Stopped", "Training job stopped", None)
        try:
            with self.table.lock:
                self.table.advance(job, "Downloading", "Downloading the training image")
            spec = self._spec(job)
            try:
                self.launcher.prepare_image(spec.image)
            except ImageUnavailable as error:
                image = job.request["AlgorithmSpecification"]["TrainingImage"]
                reason = f"ClientError: Requested image {image} cannot be used: {error}"
                verdict = ("Failed", "Training job failed", reason)
                return
            if self._stopped_before_start(job):
                return
            container, stream = self.launcher.create(job.name, spec)
            verdict = self._train(job, container, stream)
        except Exception as error:
            # An engine failure is the job's outcome; raised again (pytest reports
            # exceptions of threads) unless the job was being stopped, when the engine
            # losing the container under us is expected.
            verdict = ("Failed", "Training job failed", f"InternalServerError: {error!r}")
            if not job.stop_requested:
                raise
        finally:
            if container is not None and not self.settings.keep_containers:
                self.launcher.remove(container)
            with self.table.lock:
                job.failure_reason = verdict[2]
                self.table.advance(job, verdict[0], verdict[1])
            job.finished.set()

    def _train(self, job: TrainingJob, container: Any, stream: Any) -> Verdict:
        started = time.time()
        shipper = LogShipper(self.logs_client(), stream_name(job.name, started))
        shipper.open()
        follower = threading.Thread(
            target=self.launcher.follow, args=(stream, shipper.write), daemon=True
        )
        follower.start()
        outcome: list[tuple[int, bool]] = []
        exited = threading.Event()

        def wait() -> None:
            outcome.append(self.launcher.outcome(container))
            exited.set()

        container.start()
        with self.table.lock:
            job.container = container
            job.log_stream = shipper.stream
            if job.stop_requested:
                self._stop_in_background(container)
            else:
                self.table.advance(job, "Training", "Training image download completed.")
        threading.Thread(target=wait, name=f"sm-wait-{job.name}", daemon=True).start()
        limit = float(job.request["StoppingCondition"]["MaxRuntimeInSeconds"])
        if not exited.wait(max(0.0, started + limit - time.time())):
            with self.table.lock:
                if not job.stop_requested:
                    job.timed_out = True
                    self.table.advance(job, "Stopping", "MaxRuntimeInSeconds exceeded: stopping")
            self._stop_in_background(container)
            exited.wait()
        follower.join(timeout=10)
        shipper.close()
        return self._verdict(job, *outcome[0])

    def _verdict(self, job: TrainingJob, exit_code: int, oom_killed: bool) -> Verdict:
        with self.table.lock:
            if job.timed_out:
                message = "Training job exceeded MaxRuntimeInSeconds and was stopped."
                if self.settings.max_runtime_status == "Failed":
                    return ("Failed", message, f"MaxRuntimeExceeded: {message}")
                return ("MaxRuntimeExceeded", message, None)
            if job.stop_requested:
                return ("Stopped", "Training job stopped", None)
        if exit_code == 0:
            with self.table.lock:
                self.table.advance(job, "Uploading", "Uploading generated training model")
            return ("Completed", "Training job completed", None)
        if oom_killed:
            reason = (
                "OutOfMemoryError: Please use an instance type with more memory, or reduce "
                f"the size of job data processed on an instance. exit code: {exit_code}"
            )
        else:
            reason = f"AlgorithmError: the training container exited with exit code: {exit_code}"
        return ("Failed", "Training job failed", reason)
