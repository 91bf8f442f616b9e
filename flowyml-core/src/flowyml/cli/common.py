"""What every ``flowyml`` command shares: failing with a message, the project here, the
pipeline a file defines."""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import click

__all__ = ["fail", "load_pipeline", "project_here", "run_store_here"]


def fail(message: str, code: int = 2) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def run_store_here() -> Any:
    """The run store of the project here, never creating one where there is none.

    Without opening the project when its configuration cannot move the run store: the
    ``runs`` commands then import neither pydantic's models nor the plugins (a run found
    crashed still has its backend's clean-up hook called).
    """
    from flowyml.project.locate import home_without_config

    home = home_without_config(_root_here())
    if home is None:
        return project_here().run_store
    from flowyml.storage.database import Database
    from flowyml.storage.run_store import RunStore

    return RunStore(Database(home / "flowyml.db"), on_crashed=_release_crashed_run)


def _release_crashed_run(run: Any) -> None:
    from flowyml.plugins.manager import release_crashed_run  # only once a crash is found

    release_crashed_run(run)


def project_here() -> Any:
    """The project here, never creating one where there is none."""
    from flowyml.project.folder import open_project

    return open_project(_root_here())


def _root_here() -> Any:
    from flowyml.project.locate import PROJECT_MARKERS, marked_project_root, project_start

    root = marked_project_root()
    if root is None:
        markers = ", ".join([*PROJECT_MARKERS, ".flowyml/"])
        fail(
            f"no FlowyML project here: looked for {markers} in {project_start().resolve()} "
            "and its parent folders"
        )
    return root


def load_pipeline(target: str) -> Any:
    """The pipeline ``FILE`` or ``FILE:NAME`` names (a file defining one pipeline needs no
    name); fails with a message otherwise."""
    from flowyml.definition.pipeline import PipelineDefinition as Pipeline
    from flowyml.definition.references import load_module_from_path

    path, _, attr = target.partition(":")
    module = load_module_from_path(path)
    if attr:
        found = getattr(module, attr, None)
        if not isinstance(found, Pipeline):
            fail(f"{path} has no Pipeline named '{attr}'")
        return found
    pipelines = {k: v for k, v in vars(module).items() if isinstance(v, Pipeline)}
    if len(pipelines) != 1:
        names = ", ".join(sorted(pipelines)) or "none"
        fail(f"{path} defines {len(pipelines)} pipelines ({names}); name one as {path}:NAME")
    return next(iter(pipelines.values()))
