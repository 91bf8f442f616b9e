"""Putting a run's image where a remote target pulls it from: any registry.

The image is built (or reused, by content hash) by :mod:`flowyml_docker.image_builder`;
backends whose jobs run elsewhere (``vertex_ai``, ``kubernetes``, ``sagemaker``) tag it
under their registry and push it here, unless the registry already holds that exact
image.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flowyml.backend import BackendError
from flowyml_docker.engine import engine_errors

__all__ = [
    "JobImage",
    "image_for_jobs",
    "push_image",
    "registry_holds",
    "remote_reference",
]


def remote_reference(local_tag: str, repository: str) -> str:
    """``flowyml/name:hash`` -> ``REPOSITORY/name:hash``."""
    name = local_tag.split("/", 1)[-1]
    return f"{repository.rstrip('/')}/{name}"


def registry_holds(
    client: Any, image: Any, reference: str, auth_config: dict[str, str] | None = None
) -> bool:
    """Whether the registry holds ``reference`` as exactly the engine's ``image`` (its
    digest is one the image was pushed under); only reads the registry.

    Args:
        client: a docker client.
        image: the engine's image.
        reference: ``REGISTRY/name:tag``.
        auth_config: registry credentials (``None``: the engine's own configuration).
    """
    target = reference.rpartition(":")[0]
    digests = set(image.attrs.get("RepoDigests") or [])
    try:
        remote = client.images.get_registry_data(reference, auth_config=auth_config)
    except engine_errors():
        return False  # not in the registry yet (or not readable): pushing tells for sure
    return f"{target}@{remote.id}" in digests


def push_image(
    client: Any,
    local_tag: str,
    repository: str,
    auth_config: dict[str, str] | None = None,
    log: Callable[[str], None] | None = None,
) -> tuple[str, bool]:
    """Tag ``local_tag`` under ``repository`` and push it unless the registry has it.

    Args:
        client: a docker client.
        local_tag: the image built on the engine.
        repository: e.g. ``europe-west1-docker.pkg.dev/PROJECT/REPO`` or ``localhost:5000/x``.
        auth_config: registry credentials (``None``: the engine's own configuration).
        log: receives progress lines.

    Returns:
        The pushed reference, and whether the registry already held it.

    Raises:
        BackendError: the push failed (the message names the registry).
    """
    say = log or (lambda _line: None)
    reference = remote_reference(local_tag, repository)
    target, _, tag = reference.rpartition(":")
    try:
        image = client.images.get(local_tag)
        image.tag(target, tag)
        if registry_holds(client, image, reference, auth_config):
            say(f"{reference} is already in the registry")
            return reference, True
        say(f"pushing {reference}")
        for chunk in client.api.push(
            target, tag=tag, stream=True, decode=True, auth_config=auth_config
        ):
            if "error" in chunk:
                raise BackendError(
                    f"pushing {reference} failed: {chunk['error']}; check that the repository "
                    "exists and the credentials may write to it"
                )
    except engine_errors() as exc:
        raise BackendError(f"pushing {reference} failed: {exc}") from None
    return reference, False


@dataclass
class JobImage:
    """The image a remote backend's jobs run.

    Attributes:
        reference: what the jobs pull (``REGISTRY/name:hash``, or the prebuilt image).
        pipeline_ref: the pipeline's ``MODULE:ATTR`` inside the image.
        facts: how it came to be (tag, content hash, reused, pushed, build time), for the
            run's details.
    """

    reference: str
    pipeline_ref: str | None
    facts: dict[str, Any] = field(default_factory=dict)


def image_for_jobs(
    settings: Any,
    pipeline: Any,
    docker_config: Any,
    *,
    repository: str,
    prebuilt: str | None = None,
    auth: Callable[[str], dict[str, str] | None] | None = None,
    runtime_requirements: tuple[tuple[str, tuple[str, ...]], ...] = (),
    log: Callable[[str], None] | None = None,
) -> JobImage:
    """Build (or reuse, by content hash) the project's image and push it where a remote
    target pulls it from; a ``prebuilt`` image is used as it is.

    Args:
        settings: the backend's :class:`~flowyml_docker.config.ImageBuildSettings`.
        pipeline: the pipeline (a module-level variable of a module or script).
        docker_config: the run's image settings.
        repository: the registry repository to push to.
        prebuilt: an image holding flowyml and the project: nothing is built or pushed.
        auth: the credentials for ``repository`` (``None``: the engine's own).
        runtime_requirements: what some distributions need inside a job, in place of what
            they declare (see :class:`~flowyml_docker.image_builder.BuildOptions`).
        log: receives progress lines.

    Raises:
        BackendError: the engine is unreachable, the build or the push failed.
        PipelineDefinitionError: the pipeline cannot be imported by reference.
    """
    from flowyml_docker.engine import connect
    from flowyml_docker.image_builder import ensure_image
    from flowyml_docker.project_source import locate_project

    source = locate_project(pipeline, docker_config.workdir, settings.project_dir)
    if prebuilt:
        return JobImage(prebuilt, source.pipeline_ref, {"image": prebuilt, "reused": True})
    options = settings.build_options(docker_config, runtime_requirements=runtime_requirements)
    client = connect(settings.docker_host)
    try:
        built = ensure_image(client, pipeline.name, source, docker_config, options, log=log)
        credentials = auth(repository) if auth is not None else None
        reference, present = push_image(client, built.tag, repository, credentials, log)
    finally:
        client.close()
    facts = {
        "local_tag": built.tag,
        "content_hash": built.content_hash,
        "reused": built.reused,
        "already_pushed": present,
        "build_seconds": round(built.build_seconds, 3),
    }
    return JobImage(reference, source.pipeline_ref, facts)
