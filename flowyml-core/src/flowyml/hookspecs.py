"""The plugin contract: hook specifications a FlowyML plugin may implement.

A plugin is a module registered under the ``flowyml`` entry-point group, e.g. in its
``pyproject.toml``::

    [project.entry-points.flowyml]
    foo = "flowyml_foo.plugin"

and implementing any of these hooks with ``@flowyml.hookimpl``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from flowyml.artifact_store import ArtifactStore
    from flowyml.materializers import Materializer

__all__ = ["hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("flowyml")
hookimpl = pluggy.HookimplMarker("flowyml")


@hookspec
def flowyml_register_backends() -> list[type[Any]]:  # type: ignore[empty-body]
    """Return backend classes: ``Executor`` or ``RemoteOrchestrator`` subclasses."""


@hookspec
def flowyml_register_artifact_stores() -> list[type[ArtifactStore]]:  # type: ignore[empty-body]
    """Return ``ArtifactStore`` subclasses, each serving the URI scheme it names."""


@hookspec
def flowyml_register_materializers() -> list[Materializer]:  # type: ignore[empty-body]
    """Return ``Materializer`` instances; they are tried before the built-in ones."""


@hookspec
def flowyml_run_crashed(run_id: str, backend: str) -> None:
    """A run whose owning process died was just marked crashed: release what ``backend``
    still holds for it (containers, jobs). Called once per run, by the process that noticed;
    an exception is reported and does not stop the other plugins."""
