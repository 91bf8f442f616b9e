"""FlowyML Orchestrators plugin: the ``vertex_ai`` backend and the ``gs://`` artifact store.

Registered through the ``flowyml`` entry-point group like any third-party plugin. Public
names are imported lazily: loading the plugin (which every ``flowyml`` command and every
step runner does) imports neither the backend nor any Google library, and a job
container, which holds only what the ``gs://`` store needs, can load it too.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "GCSArtifactStore": "flowyml_gcp.artifact_store",
    "VertexAIConfig": "flowyml_gcp.config",
    "VertexAIOrchestrator": "flowyml_gcp.orchestrator",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from flowyml_gcp.artifact_store import GCSArtifactStore
    from flowyml_gcp.config import VertexAIConfig
    from flowyml_gcp.orchestrator import VertexAIOrchestrator


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'flowyml_gcp' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
