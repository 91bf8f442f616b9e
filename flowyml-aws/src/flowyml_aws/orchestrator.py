"""The ``sagemaker`` backend: a pipeline run with each step group as a SageMaker training job.

:meth:`SageMakerOrchestrator.run_pipeline` builds (or reuses, by content hash) a
linux/amd64 image of the project and flowyml, pushes it to ECR or the configured
registry, then hands the pipeline to the core
:class:`~flowyml.backend.TrackedRemoteOrchestrator`: the core scheduler drives the run
from a background thread over a :class:`~flowyml_aws.executor.SageMakerExecutor`, and
status, details and logs are the core's. A group's job is created when the groups it
depends on have succeeded; independent groups run at the same time. The run's job id is
its run id; each group's training job name is in ``SubmissionResult.group_job_ids``.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from flowyml.backend import (
    BackendError,
    ConfigError,
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
    validated_settings,
)
from flowyml_aws.clients import AwsClients, endpoint_variable
from flowyml_aws.config import SageMakerConfig, config_problems, redacted, s3_output_uri
from flowyml_aws.executor import SageMakerExecutor
from flowyml_aws.instance_types import SHIPPED_CATALOG
from flowyml_aws.run_queries import JobQueries

__all__ = ["SageMakerOrchestrator"]

logger = logging.getLogger("flowyml_aws")


class SageMakerOrchestrator(TrackedRemoteOrchestrator):
    """Runs pipelines on Amazon SageMaker, one training job per step group.

    Args:
        name: Name of the orchestrator.
        region: AWS region of the jobs.
        role_arn: IAM role the jobs run as.
        s3_bucket: ``s3://bucket[/prefix]`` for artifacts, tasks and manifests.
        **settings: the other fields of :class:`~flowyml_aws.config.SageMakerConfig`
            (instance type, VPC, KMS keys, secrets, endpoints, registry, polling...).

    Raises:
        ConfigError: a setting is unknown or has the wrong type.
    """

    name = "sagemaker"
    config_model = SageMakerConfig
    handle_key = "job_name"

    shipped_catalog = SHIPPED_CATALOG  # the project's price file wins over it

    def __init__(
        self,
        name: str = "sagemaker",
        region: str = "us-east-1",
        role_arn: str | None = None,
        s3_bucket: str | None = None,
        **settings: Any,
    ) -> None:
        super().__init__()
        self.config = validated_settings(
            SageMakerConfig,
            {
                "name": name,
                "region": region,
                "role_arn": role_arn,
                "s3_bucket": s3_bucket,
                **settings,
            },
            "sagemaker",
        )
        self.name = self.config.name  # type: ignore[misc]
        self.clients = AwsClients(self.config)
        self.validation_errors: list[str] = []
        self._queries = JobQueries(self.clients)

    # -- helpers --------------------------------------------------------------------------
    def _docker_config(self, given: DockerConfig | None) -> DockerConfig:
        config = self.config.docker_config(given)
        if config.secret_env:
            raise ConfigError(
                "backend 'sagemaker': docker.secret_env would put secret values in the "
                f"training job request ({', '.join(sorted(config.secret_env))}); store them "
                "in Secrets Manager and name them in settings.secrets as "
                "{VARIABLE: 'arn:aws:secretsmanager:...'}"
            )
        if config.platform is None:
            config = config.model_copy(update={"platform": "linux/amd64"})
        return config

    def settings_problems(self) -> list[str]:
        """What the settings lack for a run (see ``config_problems``)."""
        return config_problems(self.config)

    def artifact_store_uri(self, stack: Any = None) -> str:
        """The run's artifact store: the stack's ``s3://`` one, else the bucket's
        ``flowyml`` folder (jobs cannot see a local store)."""
        given = getattr(stack, "artifact_store", None)
        if given and given.startswith("s3://"):
            return str(given).rstrip("/")
        return f"{s3_output_uri(self.config)}/flowyml"

    def container_env(self, docker_config: DockerConfig) -> dict[str, str]:
        """The job containers' environment: region, endpoints, the image's env (secrets go
        by ARN, see ``secrets``)."""
        env = {
            "PYTHONUNBUFFERED": "1",
            "AWS_REGION": self.config.region,
            "AWS_DEFAULT_REGION": self.config.region,
        }
        for service, url in sorted(self.config.container_endpoints.items()):
            env[endpoint_variable(service)] = url
        env.update(docker_config.env)
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
        """Run a pipeline on SageMaker, one training job per step group.

        Builds (or reuses) the image, pushes it, and starts the run in the background:
        each group becomes a training job once its upstream groups succeeded.

        Args:
            pipeline: Pipeline to run (a module-level variable of a module or script).
            run_id: Run identifier; also the submission's job id.
            resources: Default resource configuration (overridden per group).
            docker_config: Docker configuration (image, env vars).
            inputs: Input data.
            context: Context variables.
            **kwargs: ``listener``, ``fail_fast``, ``resume_from``, ``echo_logs`` and
                ``stack`` (see ``SubmitOptions``).

        Returns:
            SubmissionResult (``group_job_ids`` fills in as jobs are created); ``wait()``
            blocks until the run ends.

        Raises:
            ConfigError: the settings are incomplete or malformed.
            BackendError: the image cannot be built or pushed.
            PipelineDefinitionError: the pipeline cannot be imported by reference.
        """
        from flowyml.backend import installed_materializers, open_project, register_artifact_store
        from flowyml_aws.artifact_store import S3ArtifactStore

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
        store = S3ArtifactStore(
            self.artifact_store_uri(submit.stack),
            installed_materializers(),
            client=self.clients.client("s3"),
            multipart_threshold=self.config.multipart_threshold_mb * 1024 * 1024,
        )
        # Outputs are loaded later by URI: let them reach this store, with our endpoint.
        register_artifact_store(store)
        executor = SageMakerExecutor(
            self.clients,
            state,
            image_uri,
            pipeline=pipeline.name,
            output_uri=str(s3_output_uri(self.config)),
            pipeline_ref=pipeline_ref,
            env=self.container_env(config),
            default_resources=resources,
        )
        metadata = {
            "image": image_uri,
            **state.image,
            "region": self.config.region,
            "artifact_store": store.root,
            "console_url": f"https://{self.config.region}.console.aws.amazon.com/sagemaker/"
            f"home?region={self.config.region}#/jobs",
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
        """What a run would do: groups, cached steps, each group's instance type, the
        image and whether it would be built or pushed, training jobs and the cost at the
        catalog's prices. Nothing is created, built or pushed.

        Raises:
            ConfigError: the settings are incomplete, or no instance fits a group.
            BackendError: AWS or the Docker engine cannot be asked.
        """
        from flowyml_aws.plan import plan_sagemaker_run

        return plan_sagemaker_run(
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
        from flowyml_aws.image_push import ecr_auth, image_repository, is_ecr
        from flowyml_docker.registry import image_for_jobs

        image = image_for_jobs(
            self.config,
            pipeline,
            config,
            repository=config.registry or image_repository(self.clients),
            prebuilt=self.config.image or config.image,
            auth=lambda repository: ecr_auth(self.clients) if is_ecr(repository) else None,
            # In a job the step runner needs boto3 (the s3:// store, secrets), nothing more.
            runtime_requirements=(("flowyml-aws", ("boto3",)),),
            log=lambda line: state.log(line, severity="DEBUG"),
        )
        state.image = image.facts
        return image.reference, image.pipeline_ref

    # -- runs of other processes -----------------------------------------------------------
    def foreign_status(self, run_id: str) -> ExecutionStatus | None:
        """The status the run's training jobs give."""
        return self._queries.run_status(run_id)

    def foreign_groups(self, run_id: str) -> dict[str, dict[str, Any]]:
        """The run's training jobs, by group."""
        return self._queries.run_groups(run_id)

    def foreign_log_entries(self, run_id: str) -> list[LogEntry]:
        """What the run's jobs wrote to CloudWatch Logs."""
        return self._queries.run_log_entries(run_id)

    def extra_details(self, run_id: str) -> dict[str, Any]:
        """The AWS requests this process sent, by operation."""
        return {"api_calls": dict(self.clients.calls)}

    # -- control -------------------------------------------------------------------------
    def stop_run(self, job_id: str, graceful: bool = True) -> None:
        """Stop a run's training jobs through StopTrainingJob.

        Args:
            job_id: the run id.
            graceful: wait until the jobs have stopped (up to ``stop_timeout_seconds``).
        """
        executor = self.executor_of(job_id)
        state = self.request_stop(job_id, graceful)
        if state is None or executor is None:
            self._queries.stop_run_jobs(job_id)
            return
        executor.cancel()
        if graceful and not self.wait_stopped(state, self.config.stop_timeout_seconds):
            logger.warning(
                "run %s: jobs still not stopped after %s s",
                job_id,
                self.config.stop_timeout_seconds,
            )

    def validate(self) -> bool:
        """Validate the settings: region, role, bucket, VPC, keys, secrets and registry
        formats, and that the bucket answers with these credentials.

        The reasons for ``False`` are in ``validation_errors`` and logged as warnings.
        """
        problems = config_problems(self.config)
        bucket = s3_output_uri(self.config)
        if bucket and not problems:
            name = bucket[len("s3://") :].split("/", 1)[0]
            try:
                self.clients.call("s3", "head_bucket", f"reach bucket s3://{name}", Bucket=name)
            except BackendError as exc:
                problems.append(str(exc))
        self.validation_errors = problems
        for problem in problems:
            logger.warning("sagemaker: %s", problem)
        return not problems

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain data (secret environment values masked)."""
        return redacted(self.config)
