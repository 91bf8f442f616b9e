"""FlowyML Orchestrators plugin: the ``docker`` backend.

Registered through the ``flowyml`` entry-point group like any third-party plugin. Public
names are imported lazily: loading the plugin (which every ``flowyml`` command does) must
not import the backend, pydantic models or the docker SDK until the backend is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "DockerExecutor": "flowyml_docker.executor",
    "DockerExecutorConfig": "flowyml_docker.executor",
    "DockerOrchestrator": "flowyml_docker.orchestrator",
    "DockerOrchestratorConfig": "flowyml_docker.config",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from flowyml_docker.config import DockerOrchestratorConfig
    from flowyml_docker.executor import DockerExecutor, DockerExecutorConfig
    from flowyml_docker.orchestrator import DockerOrchestrator


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'flowyml_docker' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
