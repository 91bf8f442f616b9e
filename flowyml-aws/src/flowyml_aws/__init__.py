"""FlowyML Orchestrators plugin: the ``sagemaker`` backend and the ``s3://`` artifact store.

Registered through the ``flowyml`` entry-point group like any third-party plugin. Public
names are imported lazily: loading the plugin (which every ``flowyml`` command and every
step runner does) imports neither the backend nor boto3.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "S3ArtifactStore": "flowyml_aws.artifact_store",
    "SageMakerConfig": "flowyml_aws.config",
    "SageMakerOrchestrator": "flowyml_aws.orchestrator",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from flowyml_aws.artifact_store import S3ArtifactStore
    from flowyml_aws.config import SageMakerConfig
    from flowyml_aws.orchestrator import SageMakerOrchestrator


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'flowyml_aws' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
