"""The plugin contract: hook specifications a FlowyML plugin may implement.

A plugin is a module registered under the ``flowyml`` entry-point group, e.g. in its
``pyproject.toml``::

    [project.entry-points.flowyml]
    foo = "flowyml_foo.plugin"

and implementing any of these hooks with ``@flowyml.hookimpl``. An implementation may take
fewer parameters than its specification: it receives only the ones it names.

The run-event hooks (``flowyml_run_started``, ``flowyml_step_started``,
``flowyml_step_finished``, ``flowyml_run_finished``) are called on every backend by the
process that owns the run (the one that called ``Pipeline.run``), from one thread at a time,
in this order: ``flowyml_run_started`` once; for each step that runs, ``flowyml_step_started``
then ``flowyml_step_finished`` (steps running at once interleave); ``flowyml_run_finished``
once, last, after every started step finished, whether the run succeeded, failed or was
interrupted. Steps that never ran (downstream of a failure) get no event. An implementation
that raises is reported once per run on stderr and does not fail the run; the other plugins
still receive the event. Keep them quick: the run waits for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from flowyml.plugins.plugin_records import BackendReference
    from flowyml.records.results import ExecutionResult
    from flowyml.storage.artifact_store import ArtifactStore
    from flowyml.storage.materializers import Materializer

__all__ = ["hookimpl", "hookspec"]

hookspec = pluggy.HookspecMarker("flowyml")
hookimpl = pluggy.HookimplMarker("flowyml")


@hookspec
def flowyml_register_backends() -> list[type[Any] | BackendReference]:  # type: ignore[empty-body]
    """Return backend classes: ``Executor`` or ``RemoteOrchestrator`` subclasses; or
    ``BackendReference("name", "module:Class")`` for each, so that a backend's module is
    imported only when that backend is used (every ``flowyml`` command calls this hook)."""


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


@hookspec
def flowyml_run_started(run_id: str, pipeline: str, backend: str, steps: list[str]) -> None:
    """Run ``run_id`` of pipeline ``pipeline`` began on backend ``backend``; ``steps`` names
    every step of the pipeline in execution order."""


@hookspec
def flowyml_step_started(run_id: str, step_name: str) -> None:
    """Step ``step_name`` of run ``run_id`` was dispatched to the backend (a step reused
    from the run being resumed starts and finishes at once)."""


@hookspec
def flowyml_step_finished(run_id: str, result: ExecutionResult) -> None:
    """A step of run ``run_id`` finished; ``result`` says how (``result.status``: success,
    cached, skipped, failed or cancelled) and carries its error, timings and output URIs."""


@hookspec
def flowyml_run_finished(run_id: str, status: str) -> None:
    """Run ``run_id`` ended with ``status``: ``"success"``, ``"failed"`` or ``"cancelled"``
    (Ctrl-C, SIGTERM or a stop). Always the run's last event."""


@hookspec
def flowyml_register_commands(cli: Any) -> None:
    """Add commands to the ``flowyml`` command line: ``cli`` is its click group
    (``cli.add_command(...)`` or ``@cli.command()``). Keep the module that implements this
    light, and import what a command needs inside it: every ``flowyml`` command (but
    ``step-runner``) calls this hook. A plugin that raises is reported on stderr, and the
    other commands still work."""
