"""The probe image: a tiny job image (``probe/``) for tests of the fake Vertex AI.

Built from the local base image ``flowyml-test/python:bookworm`` (no pull) and pushed to
the loopback registry, so the fake pulls it the way it pulls any job image.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["BASE_IMAGE", "PROBE_IMAGE", "PushFailed", "build_probe_image"]

BASE_IMAGE = "flowyml-test/python:bookworm"
PROBE_IMAGE = "localhost:5000/fake-vertex-test:1"
PROBE_CONTEXT = Path(__file__).parent / "probe"


class PushFailed(RuntimeError):
    """The registry refused the probe image."""


def build_probe_image(client: Any, reference: str = PROBE_IMAGE) -> str:
    """Build the probe image, push it to its registry and return ``reference``.

    Args:
        client: A ``docker.DockerClient``.
        reference: ``REGISTRY/REPOSITORY:TAG`` to tag and push.

    Raises:
        PushFailed: If the push reports an error.
    """
    client.images.build(path=str(PROBE_CONTEXT), tag=reference, pull=False, rm=True)
    repository, _, tag = reference.rpartition(":")
    for event in client.images.push(repository, tag=tag, stream=True, decode=True):
        if "error" in event:
            raise PushFailed(f"pushing {reference}: {event['error']}")
    return reference
