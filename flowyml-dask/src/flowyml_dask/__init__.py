"""FlowyML Orchestrators' Dask backend: ``dask``, each step a task on a Dask cluster.

Public names are imported lazily: every ``flowyml`` command loads the plugin, and must not
import distributed (or the settings model) until the backend is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "DaskExecutor": "flowyml_dask.executor",
    "DaskExecutorConfig": "flowyml_dask.settings",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from flowyml_dask.executor import DaskExecutor
    from flowyml_dask.settings import DaskExecutorConfig


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'flowyml_dask' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
