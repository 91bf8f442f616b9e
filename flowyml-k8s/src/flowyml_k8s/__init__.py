"""FlowyML Orchestrators plugin: the ``kubernetes`` backend, one batch/v1 Job per step group.

Registered through the ``flowyml`` entry-point group like any third-party plugin. Public
names are imported lazily: loading the plugin (which every ``flowyml`` command and every
step runner does) imports neither the backend nor the ``kubernetes`` client.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "KubernetesConfig": "flowyml_k8s.config",
    "KubernetesOrchestrator": "flowyml_k8s.orchestrator",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from flowyml_k8s.config import KubernetesConfig
    from flowyml_k8s.orchestrator import KubernetesOrchestrator


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'flowyml_k8s' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
