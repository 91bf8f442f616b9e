"""The ``kubernetes`` backend: a pipeline run with each step group as a batch/v1 Job.

:meth:`KubernetesOrchestrator.run_pipeline` builds (or reuses, by content hash) the
project's image, pushes it to ``image_registry``, then hands the pipeline to the core
:class:`~flowyml.backend.TrackedRemoteOrchestrator`: the core scheduler drives the run
from a background thread over a :class:`~flowyml_k8s.executor.KubernetesExecutor`, and
status, details and logs are the core's. A group's Job is created once the groups it
depends on succeeded; independent groups run at once. Runs of other processes are
described, and stopped, from the objects labelled with their run id.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any
from urllib.parse import unquote, urlparse

from flowyml.backend import (
    ArtifactStore,
    BackendError,
    ConfigError,
    Context,
    DockerConfig,
    ExecutionStatus,
    LogEntry,
    Project,
    ResourceConfig,
    RunPlan,
    RunTracker,
    SubmissionResult,
    SubmitOptions,
    TrackedRemoteOrchestrator,
    validated_settings,
)
from flowyml_docker.secrets import Redactor
from flowyml_k8s.api import KubeApis
from flowyml_k8s.config import KubernetesConfig, config_problems, redacted
from flowyml_k8s.executor import KubernetesExecutor
from flowyml_k8s.run_objects import (
    delete_run_objects,
    run_groups,
    run_log_entries,
    run_status,
    wait_run_gone,
)

__all__ = ["KubernetesOrchestrator"]

logger = logging.getLogger("flowyml_k8s")


class KubernetesOrchestrator(TrackedRemoteOrchestrator):
    """Runs pipelines on Kubernetes, one batch/v1 Job per step group.

    Args:
        name: Name of the orchestrator.
        **settings: the fields of :class:`~flowyml_k8s.config.KubernetesConfig`.

    Raises:
        ConfigError: a setting is unknown or has the wrong type.
    """

    name = "kubernetes"
    config_model = KubernetesConfig
    handle_key = "job_name"

    def __init__(self, name: str = "kubernetes", **settings: Any) -> None:
        super().__init__()
        self.config = validated_settings(KubernetesConfig, {"name": name, **settings}, "kubernetes")
        self.name = self.config.name  # type: ignore[misc]
        self.apis = KubeApis(self.config)
        self.validation_errors: list[str] = []

    # -- what a run needs --------------------------------------------------------------------
    def settings_problems(self) -> list[str]:
        """What the settings lack for a run (see ``config_problems``)."""
        return config_problems(self.config)

    def artifact_store(self, project: Project, stack: Any) -> tuple[ArtifactStore, str | None]:
        """The run's artifact store, and where the artifact claim is mounted in pods.

        Raises:
            ConfigError: the store is local and no claim makes it visible to pods.
        """
        from flowyml.backend import artifact_store_for

        given = getattr(stack, "artifact_store", None) or ""
        if given.startswith(("gs://", "s3://")):
            return project.artifact_store(stack), None
        if self.config.artifact_store:
            return artifact_store_for(self.config.artifact_store), None
        store = project.artifact_store(stack)
        parsed = urlparse(store.root)
        if parsed.scheme != "file" or not self.config.artifact_claim:
            raise ConfigError(
                f"backend 'kubernetes': pods cannot see the artifact store {store.root}: set "
                "artifact_claim to a PersistentVolumeClaim holding it (mounted at the same "
                "path), or artifact_store to a gs:// or s3:// store"
            )
        return store, unquote(parsed.path)

    def container_env(self, docker_config: DockerConfig) -> dict[str, str]:
        """The pods' plain environment: the image's env and unbuffered output."""
        return {"PYTHONUNBUFFERED": "1", **docker_config.env}

    # -- submission ------------------------------------------------------------------------------
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
        """Run a pipeline on Kubernetes, one Job per step group; returns at once.

        Args:
            pipeline: Pipeline to run (a module-level variable of a module or script).
            run_id: Run identifier; also the submission's job id and the objects' label.
            resources: Default resources of groups that ask for none.
            docker_config: Image settings (requirements, env, secret env).
            inputs: Input data.
            context: Context variables.
            **kwargs: ``listener``, ``fail_fast``, ``resume_from``, ``echo_logs`` and
                ``stack`` (see ``SubmitOptions``).

        Returns:
            The submission (``group_job_ids`` fill in as Jobs are created); ``wait()``
            blocks until the run ends.

        Raises:
            ConfigError: the settings are incomplete, or pods cannot see the store.
            BackendError: the image cannot be built or pushed.
            PipelineDefinitionError: the pipeline cannot be imported by reference.
        """
        from flowyml.backend import open_project

        started = time.perf_counter()
        self.require_valid_settings()
        project = open_project()
        submit = SubmitOptions.from_kwargs(kwargs)
        config = self.config.docker_config(docker_config)
        run_context = Context.coerce(context, pipeline.context)
        pipeline.validate(run_context, inputs)
        store, artifact_path = self.artifact_store(project, submit.stack)
        secrets = {k: v.get_secret_value() for k, v in config.secret_env.items()}
        echo = (lambda line: print(line, file=sys.stderr)) if submit.echo_logs else None
        redactor = Redactor(secrets.values())
        tracker = self.new_tracker(run_id, pipeline, project, echo=echo, redact=redactor.text)
        image, pipeline_ref = self._image(pipeline, config, tracker)
        executor = KubernetesExecutor(
            self.apis,
            tracker,
            image,
            pipeline_ref=pipeline_ref,
            env=self.container_env(config),
            secret_env=secrets,
            artifact_path=artifact_path,
            default_resources=resources,
        )
        metadata = {
            "image": image,
            **tracker.image,
            "namespace": self.apis.namespace,
            "artifact_store": store.root,
            "submit_seconds": round(time.perf_counter() - started, 3),
        }
        return self.start_run(
            tracker, executor, pipeline, run_context, inputs, submit, project, store, metadata
        )

    def _image(
        self, pipeline: Any, config: DockerConfig, tracker: RunTracker
    ) -> tuple[str, str | None]:
        """The image reference pods pull, and the pipeline's reference inside it."""
        from flowyml_docker.registry import image_for_jobs

        image = image_for_jobs(
            self.config,
            pipeline,
            config,
            repository=str(self.config.image_registry),
            prebuilt=self.config.image or config.image,
            log=lambda line: tracker.log(line, severity="DEBUG"),
        )
        tracker.image = image.facts
        return image.reference, image.pipeline_ref

    def plan(
        self,
        pipeline: Any,
        run_id: str = "planned-run",
        resources: ResourceConfig | None = None,
        docker_config: DockerConfig | None = None,
        stack: Any = None,
        *,
        context: Any = None,
        inputs: dict[str, Any] | None = None,
    ) -> RunPlan:
        """What a run would do: groups, cached steps, image tag and whether it would be
        built, Jobs and cost; the Jobs (and Secrets, without values) as YAML documents in
        ``details["yaml"]``. Nothing is created, built or pushed.

        An image whose tag is not known before the run (its base image is not on the
        engine) is shown as ``REGISTRY/PIPELINE:<content-hash>``.

        Raises:
            ConfigError: the settings are incomplete.
            BackendError: the Docker engine cannot be asked about the image.
        """
        from flowyml.backend import open_project
        from flowyml_docker.image_plan import plan_image_for_jobs, plan_image_run
        from flowyml_k8s.plan import render_plan

        self.require_valid_settings()
        project = open_project()
        config = self.config.docker_config(docker_config)
        store, artifact_path = self.artifact_store(project, stack)
        image = plan_image_for_jobs(
            self.config,
            pipeline,
            config,
            repository=str(self.config.image_registry),
            prebuilt=self.config.image or config.image,
        )
        reference = image.reference_in(str(self.config.image_registry), pipeline.name)
        text = render_plan(
            pipeline,
            run_id,
            self.config,
            self.apis.namespace,
            image=reference,
            store_uri=store.root,
            artifact_path=artifact_path,
            env=self.container_env(config),
            secret_keys=sorted(config.secret_env),
            default_resources=resources,
        )
        return plan_image_run(
            self,
            pipeline,
            image,
            reference=reference,
            project=project,
            store=store,
            executor=KubernetesExecutor,
            details={
                "yaml": text,
                "namespace": self.apis.namespace,
                "image": {**image.facts, "push": image.push},
            },
            context=context,
            inputs=inputs,
            resources=resources,
            stack=stack,
        )

    # -- runs of other processes, from their objects' labels -------------------------------
    def foreign_status(self, run_id: str) -> ExecutionStatus | None:
        """The status the run's Jobs give."""
        return run_status(self.apis, run_id)

    def foreign_groups(self, run_id: str) -> dict[str, dict[str, Any]]:
        """The run's Jobs that still exist, by group."""
        return run_groups(self.apis, run_id)

    def foreign_log_entries(self, run_id: str) -> list[LogEntry]:
        """What the run's pods that still exist printed (secret values masked)."""
        redactor = Redactor(
            v.get_secret_value() for v in self.config.docker_config(None).secret_env.values()
        )
        return [
            LogEntry(redactor.text(e.message), e.group, e.severity, e.timestamp)
            for e in run_log_entries(self.apis, run_id)
        ]

    def extra_details(self, run_id: str) -> dict[str, Any]:
        """The namespace and the API requests this process made, by kind."""
        return {"namespace": self.apis.namespace, "api_calls": dict(self.apis.calls)}

    # -- control ---------------------------------------------------------------------------------
    def stop_run(self, job_id: str, graceful: bool = True) -> None:
        """Stop a run: no further Job is created and the run's Jobs are deleted with
        foreground propagation (their pods first), as are its Secrets.

        Works for a run of another process too (by the run-id label).

        Args:
            job_id: the run id.
            graceful: wait (up to ``stop_timeout_seconds``) until the pods are gone.
        """
        run_id = self.run_id_of(job_id)
        executor = self.executor_of(run_id)
        tracker = self.request_stop(run_id, graceful)
        if executor is not None:
            executor.cancel()
        else:
            delete_run_objects(self.apis, run_id)
        if not graceful:
            return
        if not wait_run_gone(self.apis, run_id, self.config.stop_timeout_seconds):
            logger.warning(
                "run %s: pods still there %s s after their Jobs were deleted",
                run_id,
                self.config.stop_timeout_seconds,
            )
        self.wait_stopped(tracker, self.config.stop_timeout_seconds)

    def validate(self) -> bool:
        """Check the settings' formats and that the cluster answers in the namespace.

        The reasons for ``False`` are in ``validation_errors`` and logged as warnings.
        """
        problems = config_problems(self.config)
        try:
            self.apis.request("GET", self.apis.jobs_path(), "list Jobs", query={"limit": 1})
        except (BackendError, ConfigError) as exc:
            problems.append(str(exc))
        if self.config.ttl_seconds_after_finished is not None and (
            self.config.ttl_seconds_after_finished < self.config.poll_max_seconds
        ):
            problems.append(
                "ttl_seconds_after_finished is shorter than poll_max_seconds: a Job could be "
                "deleted before its end is seen"
            )
        self.validation_errors = problems
        for problem in problems:
            logger.warning("kubernetes: %s", problem)
        return not problems

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain data (secret environment values masked)."""
        return redacted(self.config)
