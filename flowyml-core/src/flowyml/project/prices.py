"""Which machine catalog a backend uses: the project's own price file, else the shipped one.

Prices change more often than releases, so a catalog is looked up, first match wins, in

1. ``$FLOWYML_PRICES_DIR/<backend>.json``,
2. ``<project home>/prices/<backend>.json`` (``.flowyml/prices/vertex_ai.json``),
3. the file the backend's distribution ships (``shipped``).

A file found earlier replaces the later ones whole: copy the shipped file, edit its
figures, ``source`` and ``as_of``, and the next plan uses it.
"""

from __future__ import annotations

import os
from importlib.resources.abc import Traversable
from pathlib import Path

from flowyml.errors import ConfigError
from flowyml.project.config import find_project_root, load_config
from flowyml.project.folder import Project
from flowyml.records.catalog import MachineCatalog

__all__ = ["PRICES_DIR_ENV", "load_machine_catalog", "price_file_candidates"]

#: The environment variable naming a folder of price files that wins over the project's.
PRICES_DIR_ENV = "FLOWYML_PRICES_DIR"


def price_file_candidates(backend: str, project: Project | Path | None = None) -> list[Path]:
    """The user's price files for ``backend``, in the order they are tried.

    Args:
        backend: the backend kind, e.g. ``"vertex_ai"``.
        project: the project, or a folder in it (default: the working directory's).
    """
    found: list[Path] = []
    folder = os.environ.get(PRICES_DIR_ENV)
    if folder:
        found.append(Path(folder).expanduser() / f"{backend}.json")
    if isinstance(project, Project):
        home = project.home
    else:
        root = find_project_root(project)
        home = (root / load_config(root).home).resolve()
    found.append(home / "prices" / f"{backend}.json")
    return found


def load_machine_catalog(
    backend: str,
    shipped: Traversable | Path | None = None,
    project: Project | Path | None = None,
) -> MachineCatalog | None:
    """The catalog ``backend`` uses now: the user's file if there is one, else ``shipped``.

    Args:
        backend: the backend kind, e.g. ``"sagemaker"``.
        shipped: the catalog file the distribution ships, or ``None`` when it has none.
        project: the project, or a folder in it (default: the working directory's).

    Returns:
        The catalog, or ``None`` when neither the user nor the distribution has one.

    Raises:
        ConfigError: a price file exists but cannot be read or is not a catalog.
    """
    for path in price_file_candidates(backend, project):
        if path.is_file():
            return _read(path, str(path))
    if shipped is None:
        return None
    return _read(shipped, str(shipped))


def _read(path: Traversable | Path, origin: str) -> MachineCatalog:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{origin}: the price file cannot be read: {exc.strerror}") from None
    return MachineCatalog.from_json(text, origin=origin)
