"""Where a project is, found without reading its configuration: the commands that only
read the run store (``flowyml runs ...``) start faster without pydantic's models."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "CONFIG_FILE",
    "DEFAULT_HOME",
    "PROJECT_ENV",
    "PROJECT_MARKERS",
    "find_project_root",
    "home_without_config",
    "marked_project_root",
    "project_of_file",
    "project_start",
]

CONFIG_FILE = "flowyml.yaml"
#: The project's folder of the run store and artifacts when the configuration names none.
DEFAULT_HOME = ".flowyml"
PROJECT_MARKERS = (CONFIG_FILE, "pyproject.toml", ".git")
PROJECT_ENV = "FLOWYML_PROJECT"


def project_start() -> Path:
    """Where the search for the project begins: ``FLOWYML_PROJECT`` (which ``flowyml run``
    sets to the pipeline file's folder), else the working directory."""
    return Path(os.environ.get(PROJECT_ENV) or Path.cwd())


def marked_project_root(start: Path | None = None) -> Path | None:
    """The nearest folder, from ``start`` upwards, holding a flowyml.yaml, pyproject.toml,
    .git or a ``.flowyml`` run store; ``None`` when there is none."""
    here = (start or project_start()).resolve()
    for folder in (here, *here.parents):
        if any((folder / marker).exists() for marker in (*PROJECT_MARKERS, ".flowyml")):
            return folder
    return None


def project_of_file(path: Path) -> Path:
    """The project a pipeline file belongs to, wherever the command is run from.

    In order: the nearest folder above the file holding a flowyml.yaml; the project of the
    working directory (see :func:`marked_project_root`); the nearest folder above the
    file holding any project marker; the working directory.
    """
    folder = path.resolve().parent
    for candidate in (folder, *folder.parents):
        if (candidate / CONFIG_FILE).exists():
            return candidate
    return marked_project_root(Path.cwd()) or marked_project_root(folder) or Path.cwd()


def find_project_root(start: Path | None = None) -> Path:
    """The nearest folder, from ``start`` upwards, holding a flowyml.yaml, pyproject.toml
    or .git; ``start`` itself when there is none."""
    here = (start or project_start()).resolve()
    for folder in (here, *here.parents):
        if any((folder / marker).exists() for marker in PROJECT_MARKERS):
            return folder
    return here


def home_without_config(root: Path) -> Path | None:
    """The project's home folder when the configuration cannot move it, else ``None``
    (then only :func:`flowyml.project.config.load_config` can tell).

    The configuration (``FLOWYML_CONFIG``, ``flowyml.yaml``, or ``pyproject.toml``'s
    ``[tool.flowyml]``) can set ``home`` only in a file whose text contains "home"; a
    file without that word leaves the default.
    """
    if os.environ.get("FLOWYML_CONFIG"):
        return None
    for name in (CONFIG_FILE, "pyproject.toml"):
        path = root / name
        if path.is_file():
            try:
                text = path.read_text()
            except OSError:
                return None  # the full load reports it
            return None if "home" in text else (root / DEFAULT_HOME).resolve()
    return (root / DEFAULT_HOME).resolve()
