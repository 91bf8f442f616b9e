"""Entry point of the ``flowyml-docker`` plugin (group ``flowyml``)."""

from __future__ import annotations

from typing import Any

from flowyml.hookspecs import hookimpl


@hookimpl
def flowyml_register_backends() -> list[type[Any]]:
    """The ``docker`` orchestrator (its module does not import the docker SDK)."""
    from flowyml_docker.orchestrator import DockerOrchestrator

    return [DockerOrchestrator]
