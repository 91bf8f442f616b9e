"""``plan()`` of the ``vertex_ai`` backend: what a run would do, asking only read-only
questions (is the image on the engine, in Artifact Registry; is a cached output in the
bucket). No CustomJob is created, no image built or pushed."""

from __future__ import annotations

from typing import Any

from flowyml.backend import (
    Context,
    DockerConfig,
    ResourceConfig,
    RunPlan,
    installed_materializers,
    open_project,
    plan_run,
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
    from flowyml_docker.image_plan import plan_image_for_jobs
    from flowyml_gcp.artifact_store import GCSArtifactStore
    from flowyml_gcp.config import image_repository

    orchestrator.require_valid_settings()
    settings = orchestrator.config
    project = open_project()
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
    planned = plan_run(
        pipeline,
        orchestrator.name,
        context=Context.coerce(context, pipeline.context),
        inputs=inputs,
        project=project,
        artifact_store=store,
        use_cache=stack.cache if stack is not None else True,
        executor=VertexExecutor,
        default_resources=resources,
    )
    # A group asking for GPUs without a type gets the backend's default accelerator.
    groups = [
        g.model_copy(
            update={
                "resources": g.resources.model_copy(
                    update={"gpu_type": g.resources.gpu_type or settings.default_accelerator}
                )
            }
        )
        if g.resources.gpu
        else g
        for g in planned.groups
    ]
    reference = image.reference or f"{repository}/{pipeline.name}:<content-hash>"
    return (
        planned.with_groups(groups)
        .with_backend_facts(
            image=reference,
            image_action="build" if image.action == "build" else "reuse",
            machine_type=lambda limits: machine_type_for(limits, settings.machine_type),
            details={
                "project_id": settings.project_id,
                "region": settings.region,
                "artifact_store": store.root,
                "image": {**image.facts, "push": image.push},
            },
            notes=[image.note] if image.note else None,
        )
        .priced(orchestrator.machine_catalog(project))
    )
