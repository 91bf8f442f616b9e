"""Entry point of the ``flowyml-docker`` plugin (group ``flowyml``)."""

from __future__ import annotations

from typing import Any

from flowyml.backend import hookimpl


@hookimpl
def flowyml_register_backends() -> list[type[Any]]:
    """The ``docker`` orchestrator (its module does not import the docker SDK)."""
    from flowyml_docker.orchestrator import DockerOrchestrator

    return [DockerOrchestrator]


@hookimpl
def flowyml_run_crashed(run_id: str, backend: str) -> None:
    """Remove the containers of a crashed ``docker`` run: nobody waits for them any more.

    Other backends' runs cost nothing here: neither the docker SDK nor an engine is touched.
    """
    if backend != "docker":
        return
    from flowyml_docker.crashed_runs import remove_run_containers

    remove_run_containers(run_id)
