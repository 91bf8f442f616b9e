"""FlowyML Orchestrators plugin: the ``vertex_ai`` backend and the ``gs://`` artifact store.

Registered through the ``flowyml`` entry-point group like any third-party plugin.
Importing this package imports neither ``google.cloud.aiplatform`` nor ``aiplatform_v1``
nor the logging and storage clients: they load when the backend first calls an API.
"""

from __future__ import annotations

from flowyml_gcp.artifact_store import GCSArtifactStore
from flowyml_gcp.config import VertexAIConfig
from flowyml_gcp.orchestrator import VertexAIOrchestrator

__all__ = ["GCSArtifactStore", "VertexAIConfig", "VertexAIOrchestrator"]

__version__ = "0.1.0"
