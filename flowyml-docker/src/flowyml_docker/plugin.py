"""Entry point of the ``flowyml-docker`` plugin (group ``flowyml``)."""

from __future__ import annotations

from flowyml.backend import BackendReference, hookimpl


@hookimpl
def flowyml_register_backends() -> list[BackendReference]:
    """The ``docker`` orchestrator, imported when it is used."""
    return [BackendReference("docker", "flowyml_docker.orchestrator:DockerOrchestrator")]


@hookimpl
def flowyml_run_crashed(run_id: str, backend: str) -> None:
    """Remove the containers of a crashed ``docker`` run: nobody waits for them any more.

    Other backends' runs cost nothing here: neither the docker SDK nor an engine is touched.
    """
    if backend != "docker":
        return
    from flowyml_docker.crashed_runs import remove_run_containers

    remove_run_containers(run_id)
