"""FlowyML Orchestrators plugin: the ``docker`` backend.

Registered through the ``flowyml`` entry-point group like any third-party plugin. Importing
this package does not import the docker SDK; the backend imports it when it first talks
to the engine.
"""

from __future__ import annotations

from flowyml_docker.executor import DockerExecutor, DockerExecutorConfig
from flowyml_docker.orchestrator import DockerOrchestrator, DockerOrchestratorConfig

__all__ = [
    "DockerExecutor",
    "DockerExecutorConfig",
    "DockerOrchestrator",
    "DockerOrchestratorConfig",
]

__version__ = "0.1.0"
