"""``plan()`` of the ``sagemaker`` backend: what a run would do, asking only read-only
questions (the caller's account, is the image on the engine and in the registry, is a
cached output in the bucket). No training job is created, no image built or pushed."""

from __future__ import annotations

from typing import Any

from flowyml.backend import (
    DockerConfig,
    ResourceConfig,
    RunPlan,
    installed_materializers,
)
from flowyml_aws.executor import SageMakerExecutor
from flowyml_aws.instance_types import instance_type_for

__all__ = ["plan_sagemaker_run"]


def plan_sagemaker_run(
    orchestrator: Any,
    pipeline: Any,
    *,
    context: Any = None,
    inputs: dict[str, Any] | None = None,
    resources: ResourceConfig | None = None,
    docker_config: DockerConfig | None = None,
    stack: Any = None,
) -> RunPlan:
    """The plan of running ``pipeline`` with ``orchestrator`` (a ``SageMakerOrchestrator``).

    Raises:
        ConfigError: the settings are incomplete, or no instance fits a group.
        BackendError: AWS or the Docker engine cannot be asked.
    """
    from flowyml_aws.artifact_store import S3ArtifactStore
    from flowyml_aws.image_push import ecr_auth, image_repository, is_ecr
    from flowyml_docker.image_plan import plan_image_for_jobs, plan_job_run

    orchestrator.require_valid_settings()
    settings = orchestrator.config
    clients = orchestrator.clients
    config = orchestrator._docker_config(docker_config)
    repository = config.registry or image_repository(clients)
    image = plan_image_for_jobs(
        settings,
        pipeline,
        config,
        repository=repository,
        prebuilt=settings.image or config.image,
        auth=lambda registry: ecr_auth(clients) if is_ecr(registry) else None,
        runtime_requirements=(("flowyml-aws", ("boto3",)),),
    )
    store = S3ArtifactStore(
        orchestrator.artifact_store_uri(stack),
        installed_materializers(),
        client=clients.client("s3"),
        multipart_threshold=settings.multipart_threshold_mb * 1024 * 1024,
    )
    return plan_job_run(
        orchestrator,
        pipeline,
        image,
        repository,
        store=store,
        executor=SageMakerExecutor,
        machine_type=lambda limits: instance_type_for(limits, settings.instance_type),
        details={"region": settings.region},
        context=context,
        inputs=inputs,
        resources=resources,
        stack=stack,
    )
