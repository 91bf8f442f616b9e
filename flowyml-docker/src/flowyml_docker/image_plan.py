"""What a run would do about its image, found by looking only: for ``--plan``.

The tag comes from :func:`~flowyml_docker.image_builder.image_identity`, the computation
:func:`~flowyml_docker.image_builder.ensure_image` builds by, so a plan names the tag the
run then uses. Nothing is built, pulled, tagged or pushed: the engine is asked whether
it has the image, and a registry whether it holds it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flowyml.backend import BackendError, DockerConfig, RunPlan
from flowyml_docker.engine import connect, engine_errors
from flowyml_docker.image_builder import BuildOptions, existing_image, image_identity
from flowyml_docker.project_source import ProjectSource, locate_project
from flowyml_docker.registry import registry_holds, remote_reference

__all__ = ["PlannedImage", "plan_image", "plan_image_for_jobs", "plan_image_run", "plan_job_run"]


@dataclass
class PlannedImage:
    """The image a run would use, and what it would do to have it.

    Attributes:
        reference: what the containers or jobs would run (``None``: not known before the
            run, see ``note``).
        action: ``"build"`` (not on the engine) or ``"reuse"`` (nothing to build).
        pipeline_ref: the pipeline's ``MODULE:ATTR`` inside the image.
        push: whether the run would push it (``None``: nothing is pushed).
        note: what the reader should know (why the tag is unknown, a pull...).
        facts: the local tag, content hash and registry, for the plan's details.
    """

    reference: str | None
    action: str
    pipeline_ref: str | None = None
    push: bool | None = None
    note: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)

    def reference_in(self, repository: str, pipeline: str) -> str:
        """The reference, or what it will look like once the run pushes the image."""
        return self.reference or f"{repository}/{pipeline}:<content-hash>"


def plan_image(
    client: Any,
    pipeline_name: str,
    source: ProjectSource,
    docker_config: DockerConfig,
    options: BuildOptions,
) -> PlannedImage:
    """The tag :func:`~flowyml_docker.image_builder.ensure_image` would return, and
    whether it would build it; looks at the engine only.

    Raises:
        BackendError: the engine cannot be asked, or a distribution is not installed.
        ConfigError: the user's Dockerfile does not exist.
    """
    from docker.errors import ImageNotFound

    if docker_config.image:
        return PlannedImage(docker_config.image, "reuse", source.pipeline_ref)
    try:
        base = client.images.get(options.base_image)
    except ImageNotFound:
        why = "pulled first" if options.pull_base_image else "missing: the run fails"
        return PlannedImage(
            None,
            "build",
            source.pipeline_ref,
            note=f"base image {options.base_image} is not on the engine ({why}), so the "
            "image's content hash is known only once it is",
        )
    except engine_errors() as exc:
        raise BackendError(f"cannot look up image '{options.base_image}': {exc}") from None
    identity = image_identity(pipeline_name, source, docker_config, options, base.id)
    found = existing_image(client, identity)
    return PlannedImage(
        identity.tag,
        "reuse" if found is not None else "build",
        source.pipeline_ref,
        facts={"local_tag": identity.tag, "content_hash": identity.content_hash},
    )


def plan_image_for_jobs(
    settings: Any,
    pipeline: Any,
    docker_config: Any,
    *,
    repository: str,
    prebuilt: str | None = None,
    auth: Callable[[str], dict[str, str] | None] | None = None,
    runtime_requirements: tuple[tuple[str, tuple[str, ...]], ...] = (),
) -> PlannedImage:
    """What :func:`~flowyml_docker.registry.image_for_jobs` would do, with the same
    arguments, without building, tagging or pushing.

    Raises:
        BackendError: the engine cannot be asked.
        PipelineDefinitionError: the pipeline cannot be imported by reference.
    """
    source = locate_project(pipeline, docker_config.workdir, settings.project_dir)
    if prebuilt:
        return PlannedImage(prebuilt, "reuse", source.pipeline_ref, facts={"image": prebuilt})
    options = settings.build_options(docker_config, runtime_requirements=runtime_requirements)
    client = connect(settings.docker_host)
    try:
        local = plan_image(client, pipeline.name, source, docker_config, options)
        local.facts["repository"] = repository
        if local.reference is None:
            local.push = True
            return local
        reference = remote_reference(local.reference, repository)
        held = False
        if local.action == "reuse":
            image = existing_image_by_tag(client, local.reference)
            credentials = auth(repository) if auth is not None else None
            held = image is not None and registry_holds(client, image, reference, credentials)
        local.reference = reference
        local.push = not held
        return local
    finally:
        client.close()


def existing_image_by_tag(client: Any, tag: str) -> Any | None:
    """The engine's image ``tag``, or ``None``."""
    from docker.errors import ImageNotFound

    try:
        return client.images.get(tag)
    except ImageNotFound:
        return None
    except engine_errors() as exc:
        raise BackendError(f"cannot look up image '{tag}': {exc}") from None


def plan_image_run(
    orchestrator: Any,
    pipeline: Any,
    image: PlannedImage,
    *,
    reference: str | None,
    project: Any,
    store: Any,
    executor: Any,
    details: dict[str, Any],
    context: Any = None,
    inputs: dict[str, Any] | None = None,
    resources: Any = None,
    stack: Any = None,
    machine_type: Callable[[Any], str] | None = None,
    adjust_groups: Callable[[list[Any]], list[Any]] | None = None,
) -> RunPlan:
    """The plan of a run whose groups all run one image (``docker``, ``kubernetes``, the
    cloud jobs): the core's plan of groups and cache, then the image, each group's
    machine, the backend's ``details`` and prices from its catalog.

    Args:
        orchestrator: the backend (its ``name`` and ``machine_catalog``).
        image: what :func:`plan_image` or :func:`plan_image_for_jobs` found.
        reference: the image the groups would run.
        project: the project the run belongs to.
        store: the artifact store the run would use (a cached output counts only there).
        executor: the step launcher class that would run the groups.
        details: what the backend reports besides (region, project, image facts...).
        machine_type: the machine or instance type of a group's resources; without it,
            each group is priced at the smallest catalog machine fitting its resources.
        adjust_groups: changes the backend makes to the planned groups first.
    """
    from flowyml.backend import Context, plan_run

    planned = plan_run(
        pipeline,
        orchestrator.name,
        context=Context.coerce(context, pipeline.context),
        inputs=inputs,
        project=project,
        artifact_store=store,
        use_cache=stack.cache if stack is not None else True,
        executor=executor,
        default_resources=resources,
    )
    if adjust_groups is not None:
        planned = planned.with_groups(adjust_groups(planned.groups))
    return planned.with_backend_facts(
        image=reference,
        image_action="build" if image.action == "build" else "reuse",
        machine_type=machine_type,
        details=details,
        notes=[image.note] if image.note else None,
    ).priced(orchestrator.machine_catalog(project), by_machine_type=machine_type is not None)


def plan_job_run(
    orchestrator: Any,
    pipeline: Any,
    image: PlannedImage,
    repository: str,
    *,
    store: Any,
    executor: Any,
    machine_type: Callable[[Any], str],
    details: dict[str, Any],
    context: Any = None,
    inputs: dict[str, Any] | None = None,
    resources: Any = None,
    stack: Any = None,
    adjust_groups: Callable[[list[Any]], list[Any]] | None = None,
) -> RunPlan:
    """The plan of a run whose groups are cloud jobs of one image (``vertex_ai``,
    ``sagemaker``): :func:`plan_image_run` with the image as it would be pushed to
    ``repository`` and the artifact store among the details.

    Args:
        orchestrator: the backend (its ``name`` and ``machine_catalog``).
        image: what :func:`plan_image_for_jobs` found.
        repository: where the image would be pushed.
        store: the artifact store the run would use (a cached output counts only there).
        executor: the step launcher class that would run the groups.
        machine_type: the machine or instance type of a group's resources.
        details: what the backend reports besides (region, project...).
        adjust_groups: changes the backend makes to the planned groups first.
    """
    from flowyml.backend import open_project

    return plan_image_run(
        orchestrator,
        pipeline,
        image,
        reference=image.reference_in(repository, pipeline.name),
        project=open_project(),
        store=store,
        executor=executor,
        details={
            **details,
            "artifact_store": store.root,
            "image": {**image.facts, "push": image.push},
        },
        context=context,
        inputs=inputs,
        resources=resources,
        stack=stack,
        machine_type=machine_type,
        adjust_groups=adjust_groups,
    )
