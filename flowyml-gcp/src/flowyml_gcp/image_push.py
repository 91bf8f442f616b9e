"""Where Vertex AI pulls the run's image from: Artifact Registry (pushed through
:func:`flowyml_docker.registry.push_image`) or any registry."""

from __future__ import annotations

__all__ = ["google_registry"]


def google_registry(repository: str) -> bool:
    """Whether ``repository`` is in Artifact Registry or Container Registry."""
    host = repository.split("/", 1)[0]
    return host.endswith("-docker.pkg.dev") or host.endswith("gcr.io")
