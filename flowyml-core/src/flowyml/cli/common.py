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
    """The run store of the project here, never creating one where there is none."""
    return project_here().run_store


def project_here() -> Any:
    """The project here, never creating one where there is none."""
    from flowyml.project.config import PROJECT_MARKERS, marked_project_root, project_start
    from flowyml.project.folder import open_project

    root = marked_project_root()
    if root is None:
        markers = ", ".join([*PROJECT_MARKERS, ".flowyml/"])
        fail(
            f"no FlowyML project here: looked for {markers} in {project_start().resolve()} "
            "and its parent folders"
        )
    return open_project(root)


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
