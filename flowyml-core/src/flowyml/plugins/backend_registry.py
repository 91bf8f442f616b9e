"""Backends as the plugins declare them, imported one by one when used.

A plugin's ``flowyml_register_backends`` returns backend classes, or
:class:`BackendReference`\\ s naming a backend and where its class is. A reference costs
nothing until that backend is used: running a pipeline on ``local`` does not import the
``docker``, ``kubernetes`` or ``sagemaker`` orchestrators (their modules, with pydantic
models and helpers, took about 200 ms together). Names are known at once, so two plugins
claiming one name are a conflict before anything is imported.
"""

from __future__ import annotations

import importlib
from typing import Any

from flowyml.errors import PluginError
from flowyml.plugins.plugin_records import BackendInfo, BackendReference, PluginSource

__all__ = ["Declaration", "check_backend_class", "declaration", "load_declared"]

# What a plugin declared: where it came from, and its checked class or a reference to it.
Declaration = tuple[PluginSource, BackendInfo | BackendReference]


def _where(source: PluginSource) -> str:
    return f"plugin '{source.name}' from distribution '{source.distribution}'"


def _problem(cls: Any) -> str | None:
    """What keeps ``cls`` from being a backend, or ``None``."""
    if not isinstance(cls, type):
        return f"is {cls!r}, not a class"
    # The two backend base classes say which kind they are (``backend_kind``), so
    # discovery needs no import of the execution layer.
    if getattr(cls, "backend_kind", None) not in ("executor", "orchestrator"):
        return "subclasses neither flowyml.Executor nor flowyml.RemoteOrchestrator"
    abstract = sorted(getattr(cls, "__abstractmethods__", ()))
    if abstract:
        return f"does not implement {', '.join(abstract)}"
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        return "has no `name` class attribute"
    return None


def check_backend_class(cls: Any, source: PluginSource, what: str | None = None) -> BackendInfo:
    """The backend ``cls`` is, once it is checked against the contract.

    Args:
        cls: what the plugin registered.
        source: the plugin.
        what: how to name it in an error (default: its class name).

    Raises:
        PluginError: it is not a class, subclasses neither base class, is abstract or has
            no name (the message names the plugin and distribution).
    """
    problem = _problem(cls)
    if problem is not None and what is None and not isinstance(cls, type):
        raise PluginError(f"{_where(source)} registered {cls!r}, not a class")
    if problem is not None:
        what = what or f"backend class {cls.__qualname__}"
        raise PluginError(f"{_where(source)}: {what} {problem}")
    return BackendInfo(
        cls.name, cls, cls.backend_kind, source.name, source.distribution, source.version
    )


def declaration(item: Any, source: PluginSource) -> tuple[str, Declaration]:
    """The backend name ``item`` claims, and the declaration to load it from.

    Raises:
        PluginError: ``item`` is neither a valid backend class nor a well-formed reference.
    """
    if isinstance(item, BackendReference):
        module, colon, attribute = item.target.partition(":")
        if not (isinstance(item.name, str) and item.name and module and colon and attribute):
            raise PluginError(
                f"{_where(source)} registered {item!r}: a BackendReference needs a name and "
                "a target 'module:Class'"
            )
        return item.name, (source, item)
    info = check_backend_class(item, source)
    return info.name, (source, info)


def load_declared(name: str, declared: Declaration) -> BackendInfo:
    """The backend ``name`` was declared as: a reference is imported and checked here.

    Raises:
        PluginError: its module does not import, the class is not there or breaks the
            contract, or its ``name`` is not the one declared.
    """
    source, item = declared
    if isinstance(item, BackendInfo):
        return item  # a class, checked when it was declared
    module_name, _, attribute = item.target.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), attribute)
    except Exception as exc:  # any import-time failure isolates that backend
        raise PluginError(
            f"{_where(source)}: backend '{name}' ({item.target}) failed to import: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    what = f"backend '{name}' ({item.target})"
    info = check_backend_class(cls, source, what)
    if info.name != name:
        raise PluginError(
            f"{_where(source)}: {what} is a class named '{info.name}'; the reference and "
            "the class must use one name"
        )
    return info
