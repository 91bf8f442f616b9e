"""Entry point of the ``flowyml-k8s`` plugin (group ``flowyml``)."""

from __future__ import annotations

from flowyml.backend import BackendReference, hookimpl


@hookimpl
def flowyml_register_backends() -> list[BackendReference]:
    """The ``kubernetes`` orchestrator, imported when it is used."""
    return [BackendReference("kubernetes", "flowyml_k8s.orchestrator:KubernetesOrchestrator")]


@hookimpl
def flowyml_run_crashed(run_id: str, backend: str) -> None:
    """Delete the Jobs, pods and Secrets a crashed ``kubernetes`` run left: nobody follows
    them now. Other backends' runs cost nothing here: no client is imported."""
    if backend != "kubernetes":
        return
    from flowyml_k8s.crashed_runs import delete_crashed_run_objects

    delete_crashed_run_objects(run_id)
