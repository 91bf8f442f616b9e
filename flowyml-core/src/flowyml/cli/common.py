"""What every ``flowyml`` command shares: failing with a message, the project here."""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import click

__all__ = ["fail", "project_here", "run_store_here"]


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
