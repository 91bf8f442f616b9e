"""The ``docker`` backend: a whole pipeline run with each step group in its own container.

:meth:`DockerOrchestrator.run_pipeline` builds (or reuses) the run's image, then hands
the pipeline to the core :class:`~flowyml.backend.TrackedRemoteOrchestrator` — the core
scheduler drives the run from a background thread over a
:class:`~flowyml_docker.executor.DockerExecutor`, and status, details and logs are the
core's — and returns at once. The job id is the run id. What is specific to Docker is
here: the image, stopping containers, and reading the containers of a run that another
process submitted (by their labels).
"""

from __future__ import annotations

import threading
import time
from typing import Any

from flowyml.backend import (
    Context,
    DockerConfig,
    ExecutionStatus,
    LogEntry,
    ResourceConfig,
    RunPlan,
    SubmissionResult,
    SubmitOptions,
    TrackedRemoteOrchestrator,
    open_project,
    validated_settings,
)
from flowyml_docker.config import DockerOrchestratorConfig
from flowyml_docker.containers import stop_containers
from flowyml_docker.engine import connect, managed_containers
from flowyml_docker.executor import DockerExecutor
from flowyml_docker.image_builder import ensure_image, require_image
from flowyml_docker.project_source import locate_project
from flowyml_docker.run_view import container_log_entries, describe_containers
from flowyml_docker.secrets import Redactor

__all__ = ["DockerOrchestrator"]

JOB_PREFIX = "docker:"


class DockerOrchestrator(TrackedRemoteOrchestrator):
    """Runs pipelines on the local Docker engine, one container per step group.

    Args:
        **settings: fields of :class:`DockerOrchestratorConfig`.

    Raises:
        ConfigError: a setting is unknown or has the wrong type.
    """

    name = "docker"
    config_model = DockerOrchestratorConfig
    handle_key = "container_id"
    # Containers carry no record of a run's groups once removed: mirror runs to disk.
    keeps_records = True

    def __init__(self, **settings: Any) -> None:
        super().__init__()
        self.config = validated_settings(DockerOrchestratorConfig, settings, self.name)
        self._client: Any = None
        self._lock = threading.Lock()

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

    def run_id_of(self, job_id: str) -> str:
        """Job ids may carry a ``docker:`` prefix."""
        return job_id.removeprefix(JOB_PREFIX)

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
        project = open_project()
        submit = SubmitOptions.from_kwargs(kwargs)
        config = self.config.docker_config(docker_config)
        run_context = Context.coerce(context, pipeline.context)
        pipeline.validate(run_context, inputs)
        source = locate_project(pipeline, config.workdir, self.config.project_dir)
        redactor = Redactor(v.get_secret_value() for v in config.secret_env.values())
        tracker = self.new_tracker(run_id, pipeline, project, redact=redactor.text)
        started = time.perf_counter()
        image = ensure_image(
            self.client(),
            pipeline.name,
            source,
            config,
            self.config.build_options(config),
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
        metadata = {
            "image": image.tag,
            "image_reused": image.reused,
            "build_seconds": round(image.build_seconds, 3),
            "submit_seconds": round(time.perf_counter() - started, 3),
        }
        store = project.artifact_store(submit.stack)
        return self.start_run(
            tracker, executor, pipeline, run_context, inputs, submit, project, store, metadata
        )

    def plan(
        self,
        pipeline: Any,
        *,
        context: Any = None,
        inputs: dict[str, Any] | None = None,
        resources: ResourceConfig | None = None,
        docker_config: DockerConfig | None = None,
        stack: Any = None,
    ) -> RunPlan:
        """What a run would do: its groups, cached steps, image tag and whether it would
        be built, containers and cost; nothing is built or started.

        Args:
            pipeline: the pipeline.
            context: the run's parameters (a ``Context`` or plain values).
            inputs: values for inputs no step produces.
            resources: default resources of groups that ask for none.
            docker_config: image settings (default: the ``docker`` setting).
            stack: the stack (artifact store, cache switch).

        Raises:
            BackendError: the engine cannot be asked.
            PipelineDefinitionError: the pipeline cannot run as defined.
        """
        from flowyml_docker.image_plan import plan_image, plan_image_run

        project = open_project()
        config = self.config.docker_config(docker_config)
        source = locate_project(pipeline, config.workdir, self.config.project_dir)
        options = self.config.build_options(config)
        image = plan_image(self.client(), pipeline.name, source, config, options)
        return plan_image_run(
            self,
            pipeline,
            image,
            reference=image.reference,
            project=project,
            store=project.artifact_store(stack),
            executor=DockerExecutor,
            details={"image": {**image.facts, "base_image": options.base_image}},
            context=context,
            inputs=inputs,
            resources=resources,
            stack=stack,
        )

    # -- runs of other processes, from their containers' labels ------------------------------
    def foreign_status(self, run_id: str) -> ExecutionStatus | None:
        """Running while a container labelled with the run exists."""
        return ExecutionStatus.RUNNING if managed_containers(self.client(), run_id) else None

    def foreign_groups(self, run_id: str) -> dict[str, dict[str, Any]]:
        """The run's containers that still exist, by group."""
        return describe_containers(self.client(), run_id)

    def foreign_log_entries(self, run_id: str) -> list[LogEntry]:
        """The output of the run's containers that still exist (secret values masked)."""
        return container_log_entries(self.client(), run_id)

    # -- control --------------------------------------------------------------------------------
    def stop_run(self, job_id: str, graceful: bool = True) -> None:
        """Stop a run: no further container starts, and the running ones get SIGTERM,
        then SIGKILL after ``stop_grace_seconds`` (at once when not ``graceful``).

        Works for a run of another process too (through the run's stop file and the
        containers' labels). Returns once this process's run has ended, or after the
        grace period and a margin.
        """
        run_id = self.run_id_of(job_id)
        tracker = self.request_stop(run_id, graceful)
        client = self.client()
        ids = {c.id for c in managed_containers(client, run_id)}
        if tracker is not None:
            ids.update(tracker.handles(live_only=True))
        stop_containers(client, sorted(ids), graceful, self.config.stop_grace_seconds)
        self.wait_stopped(tracker, self.config.stop_grace_seconds + 30)

    def validate(self) -> bool:
        """Check that the engine answers and the base image is present.

        Raises:
            BackendError: the engine is unreachable or the image is missing (named).
        """
        docker_config = self.config.docker_config(None)
        image = docker_config.image or self.config.base_image_for(docker_config)
        require_image(self.client(), image, self.config.pull_base_image)
        return True

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain data; secret environment values are masked."""
        return {"name": self.name, **self.config.model_dump(mode="json")}
