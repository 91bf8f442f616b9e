"""What every backend class answers about machine shapes and prices (``flowyml run
--plan``'s costs, ``flowyml rightsize``'s machines)."""

from __future__ import annotations

from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from flowyml.project.folder import Project
    from flowyml.records.catalog import MachineCatalog

__all__ = ["MachineCatalogs"]


class MachineCatalogs:
    """The ``machine_catalog`` of a backend class (``Executor`` and ``RemoteOrchestrator``
    both have it).

    A backend whose distribution ships a price list sets ``shipped_catalog`` to its file;
    every backend reads a project's own price file.
    """

    name: ClassVar[str]
    #: The catalog file this backend's distribution ships (``importlib.resources``), if any.
    shipped_catalog: ClassVar[Traversable | Path | None] = None

    @classmethod
    def machine_catalog(cls, project: Project | Path | None = None) -> MachineCatalog | None:
        """This backend's machine shapes and prices: the user's price file
        (``$FLOWYML_PRICES_DIR/<name>.json``, else ``.flowyml/prices/<name>.json``), else
        ``shipped_catalog``, else None (a plan's cost is then unknown).

        Args:
            project: the project, or a folder in it (default: the working directory's).

        Raises:
            ConfigError: the price file is not a valid catalog.
        """
        from flowyml.project.prices import load_machine_catalog

        return load_machine_catalog(cls.name, cls.shipped_catalog, project)
