"""The ``docker`` backend: a whole pipeline run with each step group in its own container.

:meth:`DockerOrchestrator.run_pipeline` builds (or reuses) the run's image, then hands
the pipeline to the core :class:`~flowyml.backend.Scheduler` — scheduling,
cache, fail-fast, run store and progress events are the core's — over a
:class:`~flowyml_docker.executor.DockerExecutor`, in a background thread, and returns at
once. The job id is the run id.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

from pydantic import ValidationError

from flowyml.backend import (
    ConfigError,
    Context,
    DockerConfig,
    ExecutionStatus,
    Orchestrator,
    RemoteOrchestrator,
    ResourceConfig,
    RunNotFoundError,
    SubmissionResult,
    SubmitOptions,
    WaitTimeoutError,
    start_background_run,
)
from flowyml_docker.config import DockerOrchestratorConfig
from flowyml_docker.containers import stop_containers
from flowyml_docker.engine import connect, managed_containers
from flowyml_docker.executor import DockerExecutor
from flowyml_docker.image_builder import (
    BuildOptions,
    ensure_image,
    require_image,
)
from flowyml_docker.project_source import locate_project
from flowyml_docker.run_tracker import RunTracker, load_record, now_iso, stop_marker
from flowyml_docker.run_view import (
    container_log_entries,
    describe_containers,
    status_from,
    store_log_entries,
    store_record,
)
from flowyml_docker.secrets import Redactor

__all__ = ["DockerOrchestrator"]

JOB_PREFIX = "docker:"


class DockerOrchestrator(RemoteOrchestrator):
    """Runs pipelines on the local Docker engine, one container per step group.

    Args:
        **settings: fields of :class:`DockerOrchestratorConfig`.

    Raises:
        ConfigError: a setting is unknown or has the wrong type.
    """

    name = "docker"
    config_model = DockerOrchestratorConfig

    def __init__(self, **settings: Any) -> None:
        try:
            self.config = DockerOrchestratorConfig.model_validate(settings)
        except ValidationError as exc:
            from flowyml.backend import format_validation_error

            raise ConfigError(
                "backend 'docker': " + format_validation_error(exc, "settings")
            ) from None
        self._runs: dict[str, RunTracker] = {}
        self._client: Any = None
        self._lock = threading.Lock()

    # -- helpers ---------------------------------------------------------------------------
    def client(self) -> Any:
        """The docker client (connected on first use).

        Raises:
            BackendError: the engine is not reachable.
        """
        with self._lock:
            if self._client is None:
                pool = max(10, 4 * self.config.max_parallel)
                self._client = connect(self.config.docker_host, pool_size=pool)
            return self._client

    @staticmethod
    def _run_id(job_id: str) -> str:
        return job_id.removeprefix(JOB_PREFIX)

    @staticmethod
    def _project() -> Any:
        from flowyml.backend import open_project

        return open_project()

    def _docker_config(self, given: DockerConfig | None) -> DockerConfig:
        return given or self.config.docker or DockerConfig()

    def _base_image(self, docker_config: DockerConfig) -> str:
        if "base_image" in docker_config.model_fields_set or not self.config.base_image:
            return docker_config.base_image
        return self.config.base_image

    # -- submission ---------------------------------------------------------------------------
    def run_pipeline(
        self,
        pipeline: Any,
        run_id: str,
        resources: ResourceConfig | None = None,
        docker_config: DockerConfig | None = None,
        inputs: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> SubmissionResult:
        """Build or reuse the image, then start the run in the background.

        Args:
            pipeline: the pipeline (a module-level variable of a module or script).
            run_id: the run id; also the job id.
            resources: default resources of groups that ask for none.
            docker_config: image settings (default: the ``docker`` setting).
            inputs: values for inputs no step produces.
            context: run parameters (``Context.to_dict()`` form or plain parameters).
            **kwargs: ``listener`` (progress events), ``fail_fast``, ``resume_from`` (a
                failed run whose completed steps are reused) and ``stack`` (the
                stack's artifact store and cache switch), as ``Pipeline.run`` passes them.

        Returns:
            The submission, bound to this orchestrator: ``wait()`` blocks until the run
            ends.

        Raises:
            BackendError: the engine is unreachable, the base image is missing, or the
                image build failed.
            PipelineDefinitionError: the pipeline cannot be imported by reference.
        """
        project = self._project()
        submit = SubmitOptions.from_kwargs(kwargs)
        config = self._docker_config(docker_config)
        run_context = Context.coerce(context, pipeline.context)
        pipeline.validate(run_context, inputs)
        source = locate_project(pipeline, config.workdir, self.config.project_dir)
        redactor = Redactor(v.get_secret_value() for v in config.secret_env.values())
        tracker = RunTracker(run_id, pipeline.name, project.home, redactor)
        started = time.perf_counter()
        options = BuildOptions(
            base_image=self._base_image(config),
            distributions=tuple(self.config.distributions),
            python_version=self.config.python_version,
            platforms=tuple(self.config.wheel_platforms),
            network_mode=self.config.build_network_mode,
            pull_base_image=self.config.pull_base_image,
        )
        image = ensure_image(
            self.client(),
            pipeline.name,
            source,
            config,
            options,
            log=lambda line: tracker.log(line, severity="DEBUG"),
        )
        tracker.image = {
            "tag": image.tag,
            "content_hash": image.content_hash,
            "reused": image.reused,
            "build_seconds": round(image.build_seconds, 3),
            "base_image": image.base_image,
        }
        executor = DockerExecutor(
            image.tag,
            max_parallel=self.config.max_parallel,
            network_mode=self.config.network_mode,
            stop_grace_seconds=self.config.stop_grace_seconds,
            docker_host=self.config.docker_host,
            mounts=self.config.mounts,
            secret_env=dict(config.secret_env),
            workdir=config.workdir,
            pipeline_ref=source.pipeline_ref,
            user=self.config.user,
            default_resources=resources,
            tracker=tracker,
        )
        if submit.echo_logs and submit.listener is not None:
            executor.step_output = submit.listener.step_output
        orchestrator = Orchestrator(
            executor,
            project.run_store,
            project.cache_store if submit.use_cache else None,
            project.artifact_store(submit.stack),
            fail_fast=submit.fail_fast,
            project_name=project.config.project_name,
            listener=submit.listener,
        )
        submission = SubmissionResult(
            job_id=run_id,
            run_id=run_id,
            orchestrator=self.name,
            metadata={
                "image": image.tag,
                "image_reused": image.reused,
                "build_seconds": round(image.build_seconds, 3),
                "submit_seconds": round(time.perf_counter() - started, 3),
            },
        )
        tracker.on_container.append(submission.group_job_ids.__setitem__)
        with self._lock:
            self._runs[run_id] = tracker
        tracker.set_status(ExecutionStatus.RUNNING)
        start_background_run(
            orchestrator,
            pipeline,
            run_id,
            run_context,
            dict(inputs or {}),
            resume_from=submit.resume_from,
            is_cancelled=tracker.is_cancelled,
            on_finished=lambda status, error: self._finished(tracker, status, error),
            thread_name=f"flowyml-docker-{run_id}",
        )
        return submission.bind(lambda: self.get_run_status(run_id), tracker.wait)

    @staticmethod
    def _finished(tracker: RunTracker, status: ExecutionStatus, error: str | None) -> None:
        severity = "INFO" if status.is_successful else "ERROR"
        tracker.log(f"run {tracker.run_id} finished: {status.value}", severity=severity)
        tracker.finish(status, error)

    # -- queries ------------------------------------------------------------------------------
    def _tracker(self, run_id: str) -> RunTracker | None:
        with self._lock:
            return self._runs.get(run_id)

    def _live_containers(self, run_id: str) -> list[Any]:
        return managed_containers(self.client(), run_id)

    def get_run_status(self, job_id: str) -> ExecutionStatus:
        """Status of a run, from this process's tracker or the record, store and labels.

        Raises:
            RunNotFoundError: nothing is known of the run.
        """
        run_id = self._run_id(job_id)
        tracker = self._tracker(run_id)
        if tracker is not None:
            return tracker.status
        project = self._project()
        record = load_record(project.home, run_id)
        stored = store_record(project.run_store, run_id)
        live = False if record or stored else bool(self._live_containers(run_id))
        status = status_from(record, stored, live)
        if status is None:
            raise RunNotFoundError(f"docker run '{run_id}' is unknown to this project")
        return status

    def get_run_details(self, job_id: str) -> dict[str, Any]:
        """The run: status, image, timings, error, and per group its container, image,
        exit code, timings and steps.

        Raises:
            RunNotFoundError: nothing is known of the run.
        """
        run_id = self._run_id(job_id)
        status = self.get_run_status(job_id)
        project = self._project()
        tracker = self._tracker(run_id)
        record = tracker.to_record() if tracker else load_record(project.home, run_id) or {}
        stored = store_record(project.run_store, run_id)
        groups: dict[str, dict[str, Any]] = {
            name: dict(group) for name, group in record.get("groups", {}).items()
        }
        if not status.is_finished:
            for name, facts in describe_containers(self.client(), run_id).items():
                groups.setdefault(name, facts)
        steps = {s.step: s for s in stored.steps} if stored else {}
        for group in groups.values():
            group["step_results"] = {
                name: steps[name].summary() for name in group.get("steps", []) if name in steps
            }
        duration = stored.duration if stored else None
        return {
            "job_id": job_id,
            "run_id": run_id,
            "orchestrator": self.name,
            "status": status.value,
            "pipeline": record.get("pipeline") or (stored.pipeline if stored else None),
            "image": record.get("image", {}),
            "submitted_at": record.get("submitted_at"),
            "finished_at": record.get("finished_at"),
            "duration_seconds": duration,
            "error": record.get("error") or (stored.error if stored else None),
            "groups": groups,
            "config": self.to_dict(),
        }

    def _log_entries(self, run_id: str) -> list[dict[str, Any]]:
        tracker = self._tracker(run_id)
        if tracker is not None:
            return tracker.entries()
        project = self._project()
        entries = store_log_entries(project.run_store, run_id)
        done = {e["group"] for e in entries}
        live = container_log_entries(self.client(), run_id)
        return entries + [e for e in live if e["group"] not in done]

    def get_run_logs(self, job_id: str, max_entries: int = 200) -> str:
        """The run's last ``max_entries`` log lines (secret values masked).

        Raises:
            RunNotFoundError: nothing is known of the run.
        """
        self.get_run_status(job_id)
        entries = self._log_entries(self._run_id(job_id))
        return "\n".join(
            f"{e['timestamp']} {e['severity']} [{e['group'] or 'run'}] {e['message']}"
            for e in entries[-max_entries:]
            if max_entries > 0
        )

    def stream_logs(self, job_id: str, poll_interval: float = 5.0) -> Iterator[dict[str, Any]]:
        """Yield log entries as they arrive: dicts with timestamp, severity, message,
        group and is_finished; the last one has ``is_finished=True``."""
        run_id = self._run_id(job_id)
        tracker = self._tracker(run_id)
        seen = 0
        if tracker is not None:
            while True:
                finished = tracker.finished
                batch = tracker.entries(seen, timeout=None if finished else poll_interval)
                seen += len(batch)
                yield from batch
                if finished and not batch:
                    break
        else:
            keys: set[tuple[Any, ...]] = set()
            while True:
                status = self.get_run_status(job_id)
                for entry in self._log_entries(run_id):
                    key = (entry["timestamp"], entry["group"], entry["message"])
                    if key not in keys:
                        keys.add(key)
                        yield entry
                if status.is_finished:
                    break
                time.sleep(poll_interval)
        status = self.get_run_status(job_id)
        yield {
            "timestamp": now_iso(),
            "severity": "INFO" if status.is_successful else "ERROR",
            "message": f"run {run_id} {status.value}",
            "group": None,
            "is_finished": True,
        }

    # -- control --------------------------------------------------------------------------------
    def stop_run(self, job_id: str, graceful: bool = True) -> None:
        """Stop a run: no further container starts, and the running ones get SIGTERM,
        then SIGKILL after ``stop_grace_seconds`` (at once when not ``graceful``).

        Works for a run of another process too (through the run's stop file and the
        containers' labels). Returns once this process's run has ended, or after the
        grace period and a margin.
        """
        run_id = self._run_id(job_id)
        tracker = self._tracker(run_id)
        home = self._project().home
        if tracker is not None:
            tracker.cancel()
            tracker.log(f"stop requested (graceful={graceful})", severity="WARNING")
        marker = stop_marker(home, run_id)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(now_iso())
        client = self.client()
        ids = {c.id for c in managed_containers(client, run_id)}
        if tracker is not None:
            ids.update(tracker.live_containers())
        stop_containers(client, sorted(ids), graceful, self.config.stop_grace_seconds)
        if tracker is not None:
            try:
                tracker.wait(self.config.stop_grace_seconds + 30)
            except WaitTimeoutError:
                return  # the run thread is still winding down; its containers are stopped

    def validate(self) -> bool:
        """Check that the engine answers and the base image is present.

        Raises:
            BackendError: the engine is unreachable or the image is missing (named).
        """
        docker_config = self._docker_config(None)
        image = docker_config.image or self._base_image(docker_config)
        require_image(self.client(), image, self.config.pull_base_image)
        return True

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain data; secret environment values are masked."""
        return {"name": self.name, **self.config.model_dump(mode="json")}
