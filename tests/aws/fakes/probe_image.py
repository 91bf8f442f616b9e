"""The probe image: the base image pushed to the loopback registry under a job image name.

``flowyml-test/python:bookworm`` (Debian with python3, built by ``.ci/services``) is tagged
``127.0.0.1:5000/flowyml-aws-fake-probe:1`` and pushed, so the fake SageMaker pulls it
the way it pulls any training image. Tests drive it with ``ContainerEntrypoint``
(``python3 -c ...``).
"""

from __future__ import annotations

from typing import Any

from .account import LOCAL_REGISTRY

__all__ = ["BASE_IMAGE", "PROBE_IMAGE", "PushFailed", "push_probe_image"]

BASE_IMAGE = "flowyml-test/python:bookworm"
PROBE_IMAGE = f"{LOCAL_REGISTRY}/flowyml-aws-fake-probe:1"


class PushFailed(RuntimeError):
    """The registry refused the probe image."""


def push_probe_image(client: Any, reference: str = PROBE_IMAGE) -> str:
    """Tag the base image as ``reference``, push it and return ``reference``.

    Args:
        client: A ``docker.DockerClient``.
        reference: ``REGISTRY/REPOSITORY:TAG``.

    Raises:
        PushFailed: If the push reports an error.
    """
    repository, _, tag = reference.rpartition(":")
    client.images.get(BASE_IMAGE).tag(repository, tag=tag)
    for event in client.images.push(repository, tag=tag, stream=True, decode=True):
        if "error" in event:
            raise PushFailed(f"pushing {reference}: {event['error']}")
    return reference
