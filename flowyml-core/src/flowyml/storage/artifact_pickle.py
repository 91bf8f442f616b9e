"""Pickling of artifacts: classes and functions of pipeline files travel under their
canonical module name (see :mod:`flowyml.definition.references`).

Kept apart from :mod:`flowyml.storage.materializers` so that a process that stores only
JSON-able values and arrays (a step runner, on most steps) never imports pickle.
"""

from __future__ import annotations

import os
import pickle
import sys
import types
from typing import IO, Any

from flowyml.definition.references import (
    import_pipeline_global,
    is_file_module,
    main_module_as,
    main_module_name,
)

__all__ = ["dump", "load"]

_GLOBAL_TYPES = (type, types.FunctionType)


def dump(value: Any, stream: IO[bytes]) -> None:
    """Pickle ``value`` into ``stream``, pipeline files' globals by canonical name."""
    _ArtifactPickler(stream, protocol=pickle.HIGHEST_PROTOCOL).dump(value)


def load(stream: IO[bytes]) -> Any:
    """Unpickle a value :func:`dump` wrote (or an older pickle of ``__main__``'s globals)."""
    return _ArtifactUnpickler(stream).load()


def _lookup(owner: Any, qualname: str) -> Any:
    for part in qualname.split("."):
        owner = getattr(owner, part, None)
    return owner


class _ArtifactPickler(pickle.Pickler):
    """Pickles the classes and functions of pipeline files under their canonical module."""

    def reducer_override(self, obj: Any) -> Any:
        if not isinstance(obj, _GLOBAL_TYPES):
            return NotImplemented
        module_name = getattr(obj, "__module__", None)
        if module_name == "__main__":
            canonical = main_module_name()
        elif isinstance(module_name, str) and is_file_module(module_name):
            canonical = module_name
        else:
            return NotImplemented
        module = sys.modules.get(module_name)
        qualname = getattr(obj, "__qualname__", "")
        if canonical is None or module is None or _lookup(module, qualname) is not obj:
            return NotImplemented  # not importable by name: pickle explains why, as usual
        file = getattr(module, "__file__", None)
        path = os.path.abspath(file) if file else None
        return import_pipeline_global, (canonical, path, qualname)


class _ArtifactUnpickler(pickle.Unpickler):
    """Resolves pipeline files' modules by canonical name (also in pre-header pickles)."""

    def find_class(self, module: str, name: str) -> Any:
        if is_file_module(module):
            return import_pipeline_global(module, None, name)
        if module not in sys.modules and main_module_as(module) is not None:
            # This script, pickled under its importable name by a process that imported
            # it (`python -m pipe`'s step runner): its classes are the ones of `__main__`.
            return import_pipeline_global(module, None, name)
        if module == "__main__":
            try:
                return super().find_class(module, name)
            except AttributeError:
                found = _from_loaded_pipeline_file(name)
                if found is None:
                    raise
                return found
        return super().find_class(module, name)


def _from_loaded_pipeline_file(qualname: str) -> Any:
    """``qualname`` of the one loaded pipeline file that defines it, else ``None``.

    Pickles written before canonical module names refer to a script's classes as
    ``__main__``; under ``flowyml run`` that script is a ``flowyml_file_*`` module.
    """
    candidates = {
        id(found): found
        for name, module in list(sys.modules.items())
        if is_file_module(name) and (found := _lookup(module, qualname)) is not None
    }
    return next(iter(candidates.values())) if len(candidates) == 1 else None
