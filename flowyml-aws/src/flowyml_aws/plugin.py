"""Entry point of the ``flowyml-aws`` plugin (group ``flowyml``)."""

from __future__ import annotations

from typing import Any

from flowyml.backend import BackendReference, hookimpl


@hookimpl
def flowyml_register_backends() -> list[BackendReference]:
    """The ``sagemaker`` orchestrator, imported when it is used."""
    return [BackendReference("sagemaker", "flowyml_aws.orchestrator:SageMakerOrchestrator")]


@hookimpl
def flowyml_register_artifact_stores() -> list[type[Any]]:
    """The ``s3://`` artifact store (boto3 is imported on first use)."""
    from flowyml_aws.artifact_store import S3ArtifactStore

    return [S3ArtifactStore]


@hookimpl
def flowyml_run_crashed(run_id: str, backend: str) -> None:
    """Stop the training jobs a crashed ``sagemaker`` run left running: nobody follows
    them now. Other backends' runs cost nothing here: no boto3 import, no API call."""
    if backend != "sagemaker":
        return
    from flowyml_aws.crashed_runs import stop_crashed_run_jobs

    stop_crashed_run_jobs(run_id)
