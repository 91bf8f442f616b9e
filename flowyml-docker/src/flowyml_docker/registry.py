"""Putting a run's image where a remote target pulls it from: any registry.

The image is built (or reused, by content hash) by :mod:`flowyml_docker.image_builder`;
backends whose jobs run elsewhere (``vertex_ai``, ``kubernetes``, ``sagemaker``) tag it
under their registry and push it here, unless the registry already holds that exact
image.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flowyml.backend import BackendError
from flowyml_docker.engine import engine_errors

__all__ = ["push_image", "remote_reference"]


def remote_reference(local_tag: str, repository: str) -> str:
    """``flowyml/name:hash`` -> ``REPOSITORY/name:hash``."""
    name = local_tag.split("/", 1)[-1]
    return f"{repository.rstrip('/')}/{name}"


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
        digests = set(image.attrs.get("RepoDigests") or [])
        try:
            remote = client.images.get_registry_data(reference, auth_config=auth_config)
            if f"{target}@{remote.id}" in digests:
                say(f"{reference} is already in the registry")
                return reference, True
        except engine_errors():
            pass  # not in the registry yet (or not readable): pushing tells for sure
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
