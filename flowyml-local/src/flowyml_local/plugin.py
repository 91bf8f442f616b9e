"""Entry point of the ``flowyml-local`` plugin (group ``flowyml``)."""

from __future__ import annotations

from flowyml.backend import BackendReference, hookimpl


@hookimpl
def flowyml_register_backends() -> list[BackendReference]:
    """The ``local`` and ``subprocess`` executors, each imported when it is used."""
    return [
        BackendReference("local", "flowyml_local.local_executor:LocalExecutor"),
        BackendReference("subprocess", "flowyml_local.subprocess_executor:SubprocessExecutor"),
    ]
