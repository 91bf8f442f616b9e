"""FlowyML Orchestrators' local backends: ``local`` (in process) and ``subprocess``.

Public names are imported lazily: every ``flowyml`` command loads the plugin, and must not
pay for the executors (and pydantic models) it does not use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "LocalExecutor": "flowyml_local.local_executor",
    "LocalExecutorConfig": "flowyml_local.local_executor",
    "SubprocessExecutor": "flowyml_local.subprocess_executor",
    "SubprocessExecutorConfig": "flowyml_local.subprocess_executor",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from flowyml_local.local_executor import LocalExecutor, LocalExecutorConfig
    from flowyml_local.subprocess_executor import SubprocessExecutor, SubprocessExecutorConfig


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'flowyml_local' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
