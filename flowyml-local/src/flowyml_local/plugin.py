"""Entry point of the ``flowyml-local`` plugin (group ``flowyml``)."""

from __future__ import annotations

from typing import Any

from flowyml.backend import hookimpl


@hookimpl
def flowyml_register_backends() -> list[type[Any]]:
    """The ``local`` and ``subprocess`` executors."""
    from flowyml_local.local_executor import LocalExecutor
    from flowyml_local.subprocess_executor import SubprocessExecutor

    return [LocalExecutor, SubprocessExecutor]
