"""Entry point of the ``flowyml-gcp`` plugin (group ``flowyml``)."""

from __future__ import annotations

from typing import Any

from flowyml.backend import BackendReference, hookimpl


@hookimpl
def flowyml_register_backends() -> list[BackendReference]:
    """The ``vertex_ai`` orchestrator, imported when it is used."""
    return [BackendReference("vertex_ai", "flowyml_gcp.orchestrator:VertexAIOrchestrator")]


@hookimpl
def flowyml_register_artifact_stores() -> list[type[Any]]:
    """The ``gs://`` artifact store (Cloud Storage is imported on first use)."""
    from flowyml_gcp.artifact_store import GCSArtifactStore

    return [GCSArtifactStore]


@hookimpl
def flowyml_run_crashed(run_id: str, backend: str) -> None:
    """Cancel the jobs a crashed ``vertex_ai`` run left running: nobody follows them now.

    Other backends' runs cost nothing here: no Google library is imported, no API called.
    """
    if backend != "vertex_ai":
        return
    from flowyml_gcp.crashed_runs import cancel_crashed_run_jobs

    cancel_crashed_run_jobs(run_id)
