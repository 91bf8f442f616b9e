"""``plan()`` of the ``vertex_ai`` backend: what a run would do, asking only read-only
questions (is the image on the engine, in Artifact Registry; is a cached output in the
bucket). No CustomJob is created, no image built or pushed."""

from __future__ import annotations

from typing import Any

from flowyml.backend import (
    DockerConfig,
    ResourceConfig,
    RunPlan,
    installed_materializers,
)
from flowyml_gcp.executor import VertexExecutor
from flowyml_gcp.job_spec import machine_type_for

__all__ = ["plan_vertex_run"]


def plan_vertex_run(
    orchestrator: Any,
    pipeline: Any,
    *,
    context: Any = None,
    inputs: dict[str, Any] | None = None,
    resources: ResourceConfig | None = None,
    docker_config: DockerConfig | None = None,
    stack: Any = None,
) -> RunPlan:
    """The plan of running ``pipeline`` with ``orchestrator`` (a ``VertexAIOrchestrator``).

    Raises:
        ConfigError: the settings are incomplete, or no machine fits a group.
        BackendError: the Docker engine cannot be asked about the image.
    """
    from flowyml_docker.image_plan import plan_image_for_jobs, plan_job_run
    from flowyml_gcp.artifact_store import GCSArtifactStore
    from flowyml_gcp.config import image_repository

    orchestrator.require_valid_settings()
    settings = orchestrator.config
    config = orchestrator._docker_config(docker_config)
    repository = config.registry or image_repository(settings)
    image = plan_image_for_jobs(
        settings,
        pipeline,
        config,
        repository=repository,
        prebuilt=settings.image or config.image,
        auth=orchestrator._registry_auth,
        runtime_requirements=(("flowyml-gcp", ("google-cloud-storage",)),),
    )
    store = GCSArtifactStore(
        orchestrator.artifact_store_uri(stack),
        installed_materializers(),
        endpoint=settings.storage_endpoint,
        project=settings.project_id,
    )

    def default_accelerator(groups: list[Any]) -> list[Any]:
        # A group asking for GPUs without a type gets the backend's default accelerator.
        return [
            g.model_copy(
                update={
                    "resources": g.resources.model_copy(
                        update={"gpu_type": g.resources.gpu_type or settings.default_accelerator}
                    )
                }
            )
            if g.resources.gpu
            else g
            for g in groups
        ]

    return plan_job_run(
        orchestrator,
        pipeline,
        image,
        repository,
        store=store,
        executor=VertexExecutor,
        machine_type=lambda limits: machine_type_for(limits, settings.machine_type),
        details={"project_id": settings.project_id, "region": settings.region},
        context=context,
        inputs=inputs,
        resources=resources,
        stack=stack,
        adjust_groups=default_accelerator,
    )
