"""Runs one fake Vertex AI CustomJob for real: QUEUED → PENDING → RUNNING → terminal.

Each job gets a thread that pulls the first worker pool's image, runs its container with
the spec's command, args and env, copies every output line into the :class:`LogStore`
while it runs (stdout as INFO, stderr as ERROR, log ``workerpool0-0`` of resource
``ml_job``), and sets the final state once the output is drained and the container
removed: exit 0 → SUCCEEDED; any other exit → FAILED with google.rpc code 3 and the exit
code in the message; a cancel → CANCELLED whatever the exit code.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from google.cloud import aiplatform_v1

from .containers import ContainerLauncher, ContainerSpec, ImageUnavailable, machine_memory_bytes
from .log_store import LogStore
from .vertex_jobs import JobRecord, JobTable

__all__ = ["JOB_LOG_ID", "JobRunner", "RunnerSettings"]

JobState = aiplatform_v1.JobState
JOB_LOG_ID = "workerpool0-0"
_CODE_INVALID_ARGUMENT = 3
_CODE_NOT_FOUND = 5
_CODE_INTERNAL = 13


@dataclass(frozen=True)
class RunnerSettings:
    """How jobs are run.

    Attributes:
        queue_seconds: Time a job stays QUEUED before it starts (a cancel ends it early).
        cancel_grace_seconds: Between SIGTERM and SIGKILL when a job is cancelled.
        apply_machine_memory: Limit container memory to the machine type's memory.
        keep_containers: Leave finished containers on the engine (for debugging only:
            the tests' leftover check then fails).
    """

    queue_seconds: float = 0.0
    cancel_grace_seconds: float = 5.0
    apply_machine_memory: bool = False
    keep_containers: bool = False


class JobRunner:
    """Starts and cancels the job threads of one fake Vertex AI server."""

    def __init__(
        self,
        table: JobTable,
        launcher: ContainerLauncher,
        store: LogStore,
        settings: RunnerSettings,
    ) -> None:
        self.table = table
        self.launcher = launcher
        self.store = store
        self.settings = settings
        self._threads: list[threading.Thread] = []
        self._threads_lock = threading.Lock()
        self._stopping = False

    def submit(self, record: JobRecord) -> None:
        """Run the job in its own thread."""
        thread = threading.Thread(
            target=self._run, args=(record,), name=f"fake-vertex-{record.name.job_id}", daemon=True
        )
        with self._threads_lock:
            self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def cancel(self, record: JobRecord) -> None:
        """Ask a job to stop: CANCELLING now, CANCELLED once its container is gone.

        Must be called with ``table.lock`` held and the job not in a terminal state.
        """
        if record.cancel_requested:
            return
        record.cancel_requested = True
        record.wakeup.set()
        self.table.set_state(record, JobState.JOB_STATE_CANCELLING)
        if record.container is not None:
            self._stop_in_background(record.container)

    def cancel_all(self) -> None:
        """Kill every unfinished job at once, with no grace period (the server is stopping)."""
        with self.table.lock:
            self._stopping = True
            for record in self.table.records():
                if record.finished.is_set():
                    continue
                record.cancel_requested = True
                record.wakeup.set()
                if record.container is not None:
                    self._stop_in_background(record.container)

    def join(self, timeout: float) -> None:
        """Wait for every job thread to end."""
        with self._threads_lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout)

    def _stop_in_background(self, container: Any) -> None:
        grace = 0.0 if self._stopping else self.settings.cancel_grace_seconds
        threading.Thread(
            target=self.launcher.stop,
            args=(container, grace),
            name="fake-vertex-stop",
            daemon=True,
        ).start()

    def _container_spec(self, record: JobRecord) -> ContainerSpec:
        spec = record.job.job_spec
        pool = spec.worker_pool_specs[0]
        env = {"CLOUD_ML_JOB_ID": record.name.job_id, "CLOUD_ML_PROJECT_ID": record.name.project}
        base = spec.base_output_directory.output_uri_prefix.rstrip("/")
        if base:
            env |= {
                "AIP_MODEL_DIR": f"{base}/model/",
                "AIP_CHECKPOINT_DIR": f"{base}/checkpoints/",
                "AIP_TENSORBOARD_LOG_DIR": f"{base}/logs/",
            }
        env |= {variable.name: variable.value for variable in pool.container_spec.env}
        memory = None
        if self.settings.apply_machine_memory:
            memory = machine_memory_bytes(pool.machine_spec.machine_type)
        return ContainerSpec(
            image=self.launcher.resolve_image(pool.container_spec.image_uri),
            command=list(pool.container_spec.command),
            args=list(pool.container_spec.args),
            env=env,
            memory_bytes=memory,
        )

    def _log_line(self, record: JobRecord, stream: str, text: str) -> None:
        self.store.append(
            project=record.name.project,
            log_id=JOB_LOG_ID,
            resource_type="ml_job",
            resource_labels={
                "job_id": record.name.job_id,
                "project_id": record.name.project,
                "task_name": JOB_LOG_ID,
            },
            severity="ERROR" if stream == "stderr" else "INFO",
            text=text,
        )

    def _cancelled_before_start(self, record: JobRecord) -> bool:
        with self.table.lock:
            if record.cancel_requested:
                self.table.set_state(record, JobState.JOB_STATE_CANCELLED)
                return True
            return False

    def _run(self, record: JobRecord) -> None:
        container = None
        final: tuple[Any, tuple[int, str] | None] = (JobState.JOB_STATE_CANCELLED, None)
        try:
            record.wakeup.wait(self.settings.queue_seconds)
            with self.table.lock:
                if not record.cancel_requested:
                    self.table.set_state(record, JobState.JOB_STATE_PENDING)
            if self._cancelled_before_start(record):
                return
            spec = self._container_spec(record)
            try:
                self.launcher.prepare_image(spec.image)
            except ImageUnavailable as error:
                final = (JobState.JOB_STATE_FAILED, (_CODE_NOT_FOUND, str(error)))
                return
            if self._cancelled_before_start(record):
                return
            container, stream = self.launcher.create(record.name.job_id, spec)
            follower = threading.Thread(
                target=self.launcher.follow,
                args=(stream, lambda name, text: self._log_line(record, name, text)),
                name=f"fake-vertex-logs-{record.name.job_id}",
                daemon=True,
            )
            follower.start()
            container.start()
            with self.table.lock:
                record.container = container
                if record.cancel_requested:
                    self._stop_in_background(container)
                else:
                    self.table.set_state(record, JobState.JOB_STATE_RUNNING)
            exit_code, oom_killed = self.launcher.outcome(container)
            follower.join(timeout=10)
            final = self._verdict(record, exit_code, oom_killed)
        except Exception as error:
            # An engine failure is the job's outcome, reported in its error; it is raised
            # again (pytest reports exceptions of threads) unless the job was being
            # cancelled, when the engine losing the container under us is expected.
            final = (JobState.JOB_STATE_FAILED, (_CODE_INTERNAL, f"fake Vertex AI: {error!r}"))
            if not record.cancel_requested:
                raise
        finally:
            if container is not None and not self.settings.keep_containers:
                self.launcher.remove(container)
            with self.table.lock:
                self.table.set_state(record, *final)
            record.finished.set()

    def _verdict(
        self, record: JobRecord, exit_code: int, oom_killed: bool
    ) -> tuple[Any, tuple[int, str] | None]:
        with self.table.lock:
            if record.cancel_requested:
                return (JobState.JOB_STATE_CANCELLED, None)
        if exit_code == 0:
            return (JobState.JOB_STATE_SUCCEEDED, None)
        reason = "OOMKilled" if oom_killed else "Error"
        return (
            JobState.JOB_STATE_FAILED,
            (
                _CODE_INVALID_ARGUMENT,
                f"The replica {JOB_LOG_ID} exited with a non-zero status of {exit_code}. "
                f"Termination reason: {reason}.",
            ),
        )
