"""``MODULE:ATTR`` / ``FILE:ATTR`` references: how another process finds a pipeline or step."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from typing import Any

from flowyml.errors import PipelineDefinitionError

__all__ = ["load_module_from_path", "load_reference", "reference_of"]

_FILE_MODULE_PREFIX = "flowyml_file_"


def reference_of(obj: object, module_name: str | None, file: str | None) -> str | None:
    """The reference of a module-level object, or ``None`` when it is not one.

    Objects defined in a script run as ``__main__`` are referenced by file path.
    """
    module = sys.modules.get(module_name or "")
    if module is None:
        return None
    attr = next((k for k, v in vars(module).items() if v is obj), None)
    if attr is None:
        return None
    if module_name == "__main__" or (module_name or "").startswith(_FILE_MODULE_PREFIX):
        if not file or file.startswith("<"):
            return None
        return f"{os.path.abspath(file)}:{attr}"
    return f"{module_name}:{attr}"


def load_module_from_path(path: str) -> Any:
    """Import a Python file as a module (not as ``__main__``, so its guard stays shut)."""
    absolute = os.path.abspath(path)
    if not os.path.isfile(absolute):
        raise PipelineDefinitionError(f"no such file: {path}")
    name = _FILE_MODULE_PREFIX + os.path.splitext(os.path.basename(absolute))[0].replace("-", "_")
    existing = sys.modules.get(name)
    if existing is not None and getattr(existing, "__file__", None) == absolute:
        return existing
    spec = importlib.util.spec_from_file_location(name, absolute)
    if spec is None or spec.loader is None:
        raise PipelineDefinitionError(f"{path} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    directory = os.path.dirname(absolute)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def load_reference(reference: str) -> Any:
    """Import what ``MODULE:ATTR`` or ``FILE:ATTR`` names.

    Raises:
        PipelineDefinitionError: the module, file or attribute does not exist.
    """
    target, sep, attr = reference.rpartition(":")
    if not sep or not target or not attr:
        raise PipelineDefinitionError(
            f"reference {reference!r} must look like 'package.module:name' or 'path/file.py:name'"
        )
    if target.endswith(".py") or os.sep in target:
        module = load_module_from_path(target)
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise PipelineDefinitionError(f"cannot import module '{target}': {exc}") from exc
    try:
        return getattr(module, attr)
    except AttributeError:
        raise PipelineDefinitionError(f"'{target}' has no attribute '{attr}'") from None
