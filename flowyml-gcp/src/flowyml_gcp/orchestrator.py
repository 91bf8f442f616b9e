"""The ``vertex_ai`` backend: a pipeline run with each step group as a Vertex AI CustomJob.

:meth:`VertexAIOrchestrator.run_pipeline` builds (or reuses, by content hash) a
linux/amd64 image of the project and flowyml, pushes it to the registry, then hands the
pipeline to the core :class:`~flowyml.backend.TrackedRemoteOrchestrator` — the core
scheduler drives the run from a background thread over a
:class:`~flowyml_gcp.executor.VertexExecutor`, and status, details and logs are the
core's — and returns at once. A group's job is created when the groups it depends on
have succeeded; independent groups run at the same time. The run's job id is its run
id; each group's CustomJob resource name is in ``SubmissionResult.group_job_ids``. Every
query method also accepts a CustomJob resource name
(``projects/P/locations/R/customJobs/N``).
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from typing import Any

from flowyml.backend import (
    BackendError,
    Context,
    DockerConfig,
    ExecutionStatus,
    LogEntry,
    ResourceConfig,
    RunPlan,
    RunTracker,
    SubmissionResult,
    SubmitOptions,
    TrackedRemoteOrchestrator,
    log_text,
    validated_settings,
)
from flowyml_gcp.api import GoogleApis
from flowyml_gcp.config import VertexAIConfig, config_problems, redacted, staging_uri
from flowyml_gcp.executor import VertexExecutor
from flowyml_gcp.job_logs import LogCursor
from flowyml_gcp.machines import SHIPPED_CATALOG
from flowyml_gcp.run_queries import JobQueries, is_job_name, job_details

__all__ = ["VertexAIOrchestrator"]

logger = logging.getLogger("flowyml_gcp")


class VertexAIOrchestrator(TrackedRemoteOrchestrator):
    """Vertex AI orchestrator for running pipelines on Google Cloud, one CustomJob per
    step group.

    Args:
        name: Name of the orchestrator.
        project_id: GCP project ID.
        region: GCP region for Vertex AI.
        service_account: Service account email for job execution.
        network: VPC network for jobs.
        encryption_key: Customer-managed encryption key.
        staging_bucket: GCS staging bucket for job artifacts.
        **settings: the other fields of :class:`~flowyml_gcp.config.VertexAIConfig`
            (endpoints, credentials, registry, polling...).

    Raises:
        ConfigError: a setting is unknown or has the wrong type.
    """

    name = "vertex_ai"
    config_model = VertexAIConfig
    handle_key = "job_name"

    shipped_catalog = SHIPPED_CATALOG  # the project's price file wins over it

    def __init__(
        self,
        name: str = "vertex_ai",
        project_id: str | None = None,
        region: str = "europe-west1",
        service_account: str | None = None,
        network: str | None = None,
        encryption_key: str | None = None,
        staging_bucket: str | None = None,
        **settings: Any,
    ) -> None:
        super().__init__()
        self.config = validated_settings(
            VertexAIConfig,
            {
                "name": name,
                "project_id": project_id,
                "region": region,
                "service_account": service_account,
                "network": network,
                "encryption_key": encryption_key,
                "staging_bucket": staging_bucket,
                **settings,
            },
            "vertex_ai",
        )
        self.name = self.config.name  # type: ignore[misc]
        self.project_id = self.config.project_id
        self.region = self.config.region
        self.service_account = self.config.service_account
        self.network = self.config.network
        self.encryption_key = self.config.encryption_key
        self.staging_bucket = self.config.staging_bucket
        self.apis = GoogleApis(self.config)
        self.validation_errors: list[str] = []
        self._queries = JobQueries(self.apis)
        self._cursors: dict[str, dict[str, LogCursor]] = {}

    # -- helpers --------------------------------------------------------------------------
    def _docker_config(self, given: DockerConfig | None) -> DockerConfig:
        config = self.config.docker_config(given)
        if config.platform is None:
            config = config.model_copy(update={"platform": "linux/amd64"})
        return config

    def settings_problems(self) -> list[str]:
        """What the settings lack for a run (see ``config_problems``)."""
        return config_problems(self.config)

    def artifact_store_uri(self, stack: Any = None) -> str:
        """The run's artifact store: the stack's ``gs://`` one, else the staging bucket's
        ``flowyml`` folder (job containers cannot see a local store)."""
        given = getattr(stack, "artifact_store", None)
        if given and given.startswith("gs://"):
            return str(given).rstrip("/")
        return f"{staging_uri(self.config)}/flowyml"

    def container_env(self, docker_config: DockerConfig) -> dict[str, str]:
        """The job containers' environment: Cloud Storage endpoint, project, the image's
        env and secret env."""
        from flowyml_gcp.artifact_store import ENDPOINT_ENV, PROJECT_ENV

        env = {"PYTHONUNBUFFERED": "1", PROJECT_ENV: str(self.config.project_id)}
        endpoint = self.config.container_storage_endpoint or self.config.storage_endpoint
        if endpoint:
            env[ENDPOINT_ENV] = endpoint
        env.update(docker_config.env)
        env.update({k: v.get_secret_value() for k, v in docker_config.secret_env.items()})
        return env

    # -- submission ----------------------------------------------------------------------------
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
        """Run pipeline on Vertex AI with per-group orchestration.

        Builds (or reuses) the linux/amd64 image, pushes it, and starts the run in the
        background: each group becomes a CustomJob once its upstream groups succeeded.

        Args:
            pipeline: Pipeline to run (a module-level variable of a module or script).
            run_id: Run identifier; also the submission's job id.
            resources: Default resource configuration (overridden per-group).
            docker_config: Docker configuration (image, env vars).
            inputs: Input data.
            context: Context variables.
            **kwargs: ``listener``, ``fail_fast``, ``resume_from``, ``echo_logs`` and
                ``stack`` (see ``SubmitOptions``), as ``Pipeline.run``
                passes them; ``echo_logs=False`` keeps job lines off the console.

        Returns:
            SubmissionResult with job metadata for all groups (``group_job_ids`` fills
            in as jobs are created); ``wait()`` blocks until the run ends.

        Raises:
            ConfigError: the settings are incomplete or malformed.
            BackendError: the image cannot be built or pushed.
            PipelineDefinitionError: the pipeline cannot be imported by reference.
        """
        from flowyml.backend import installed_materializers, open_project, register_artifact_store
        from flowyml_gcp.artifact_store import GCSArtifactStore

        started = time.perf_counter()
        self.require_valid_settings()
        project = open_project()
        submit = SubmitOptions.from_kwargs(kwargs)
        config = self._docker_config(docker_config)
        run_context = Context.coerce(context, pipeline.context)
        pipeline.validate(run_context, inputs)
        echo = (lambda line: print(line, file=sys.stderr)) if submit.echo_logs else None
        state = self.new_tracker(run_id, pipeline, project, echo=echo)
        image_uri, pipeline_ref = self._image(pipeline, config, state)
        store = GCSArtifactStore(
            self.artifact_store_uri(submit.stack),
            installed_materializers(),
            endpoint=self.config.storage_endpoint,
            project=self.config.project_id,
        )
        # Outputs are loaded later by URI: let them reach this store, configured with our
        # endpoint and project.
        register_artifact_store(store)
        executor = VertexExecutor(
            self.apis,
            state,
            image_uri,
            pipeline_ref=pipeline_ref,
            env=self.container_env(config),
            default_resources=resources,
        )
        metadata = {
            "image": image_uri,
            **state.image,
            "project_id": self.config.project_id,
            "region": self.config.region,
            "artifact_store": store.root,
            "console_url": "https://console.cloud.google.com/vertex-ai/training/"
            f"custom-jobs?project={self.config.project_id}",
            "submit_seconds": round(time.perf_counter() - started, 3),
        }
        return self.start_run(
            state, executor, pipeline, run_context, inputs, submit, project, store, metadata
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
        """What a run would do: groups, cached steps, each group's machine type, the
        image and whether it would be built or pushed, CustomJobs and the cost at the
        catalog's prices. Nothing is created, built or pushed.

        Raises:
            ConfigError: the settings are incomplete, or no machine fits a group.
            BackendError: the Docker engine cannot be asked about the image.
        """
        from flowyml_gcp.plan import plan_vertex_run

        return plan_vertex_run(
            self,
            pipeline,
            context=context,
            inputs=inputs,
            resources=resources,
            docker_config=docker_config,
            stack=stack,
        )

    def _image(
        self, pipeline: Any, config: DockerConfig, state: RunTracker
    ) -> tuple[str, str | None]:
        """The image URI jobs run, and the pipeline's reference inside it."""
        from flowyml_docker.registry import image_for_jobs
        from flowyml_gcp.config import image_repository

        image = image_for_jobs(
            self.config,
            pipeline,
            config,
            repository=config.registry or image_repository(self.config),
            prebuilt=self.config.image or config.image,
            auth=self._registry_auth,
            # In a job the step runner only opens the gs:// store: Cloud Storage is all the
            # plugin needs there, not the Vertex AI and Logging clients (~400 MB).
            runtime_requirements=(("flowyml-gcp", ("google-cloud-storage",)),),
            log=lambda line: state.log(line, severity="DEBUG"),
        )
        state.image = image.facts
        return image.reference, image.pipeline_ref

    def _registry_auth(self, repository: str) -> dict[str, str] | None:
        """An access token for Google's registries; the engine's own login elsewhere."""
        from flowyml_gcp.image_push import google_registry

        if not google_registry(repository) or self.config.insecure:
            return None
        from google.auth.transport.requests import Request

        credentials = self.apis.credentials()
        credentials.refresh(Request())
        return {"username": "oauth2accesstoken", "password": credentials.token}

    # -- queries: a CustomJob name is answered by Vertex AI, a run id by the core ------------
    def get_run_status(self, job_id: str) -> ExecutionStatus:
        """Get status of a run (its run id) or of one CustomJob (its resource name).

        Raises:
            RunNotFoundError: nothing is known of the run.
            BackendError: Vertex AI refused the request.
        """
        if is_job_name(job_id):
            return self._queries.job_status(job_id)
        return super().get_run_status(job_id)

    def get_run_details(self, job_id: str) -> dict[str, Any]:
        """Get full details of a run or CustomJob: status, timing, machine and resource
        settings, error information, and per group its job and step results."""
        if is_job_name(job_id):
            job = self._queries.get_job(job_id)
            return {"job_id": job_id, "orchestrator": self.name, **job_details(job)}
        return super().get_run_details(job_id)

    def get_run_logs(self, job_id: str, max_entries: int = 200) -> str:
        """Get the last ``max_entries`` log lines of a run or CustomJob."""
        if is_job_name(job_id):
            return log_text(self._queries.job_log_entries(job_id, tail=max_entries), max_entries)
        return super().get_run_logs(job_id, max_entries)

    def stream_logs(self, job_id: str, poll_interval: float = 5.0) -> Iterator[dict[str, Any]]:
        """Stream logs of a run or CustomJob as they arrive.

        Yields:
            dict with keys: timestamp, severity, message, group, is_finished; each line
            once, in order; the last one has ``is_finished=True``.
        """
        if is_job_name(job_id):
            return self._queries.job_stream(job_id, poll_interval)
        return super().stream_logs(job_id, poll_interval)

    def foreign_status(self, run_id: str) -> ExecutionStatus | None:
        """The status the run's jobs give."""
        return self._queries.run_status(run_id)

    def foreign_groups(self, run_id: str) -> dict[str, dict[str, Any]]:
        """The run's jobs, by group."""
        return self._queries.run_groups(run_id)

    def foreign_log_entries(self, run_id: str) -> list[LogEntry]:
        """What the run's jobs wrote to Cloud Logging."""
        return self._queries.run_log_entries(run_id)

    def poll_log_entries(self, run_id: str, seen: set[Any]) -> list[LogEntry]:
        """New lines of the run's jobs, read on from where the last poll stopped."""
        cursors: dict[str, LogCursor] = self._cursors.setdefault(run_id, {})
        return self._queries.poll_run(run_id, cursors)

    def extra_details(self, run_id: str) -> dict[str, Any]:
        """The API calls this process made, by method."""
        return {"api_calls": dict(self.apis.counter.calls)}

    # -- control -------------------------------------------------------------------------
    def stop_run(self, job_id: str, graceful: bool = True) -> None:
        """Cancel a run's jobs (or one CustomJob) through CancelCustomJob.

        Args:
            job_id: the run id, or a CustomJob resource name.
            graceful: wait until the jobs are cancelled (up to ``cancel_timeout_seconds``).
        """
        if is_job_name(job_id):
            self._queries.cancel_job(job_id)
            if graceful:
                self._queries.wait_job(job_id, self.config.cancel_timeout_seconds)
            return
        executor = self.executor_of(job_id)
        state = self.request_stop(job_id, graceful)
        if state is None or executor is None:
            names = self._queries.cancel_run_jobs(job_id)
            if graceful:
                for name in names:
                    self._queries.wait_job(name, self.config.cancel_timeout_seconds)
            return
        executor.cancel()
        if graceful and not self.wait_stopped(state, self.config.cancel_timeout_seconds):
            logger.warning(
                "run %s: jobs still not cancelled after %s s",
                job_id,
                self.config.cancel_timeout_seconds,
            )

    def validate(self) -> bool:
        """Validate Vertex AI configuration: project id, region, bucket, service account,
        network and key formats, the image registry, and that credentials are found.

        The reasons for ``False`` are in ``validation_errors`` and logged as warnings.
        """
        problems = config_problems(self.config)
        if not self.config.insecure:
            try:
                self.apis.credentials()
            except BackendError as exc:
                problems.append(str(exc))
        elif self.config.vertex_endpoint is None:
            problems.append(
                "insecure is set but vertex_endpoint is not: insecure channels "
                "are for loopback test servers"
            )
        self.validation_errors = problems
        for problem in problems:
            logger.warning("vertex_ai: %s", problem)
        return not problems

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain data (secret environment values masked)."""
        return redacted(self.config)
