"""Entry point of the ``flowyml-dask`` plugin (group ``flowyml``).

Every ``flowyml`` command imports this module: it imports nothing of Dask.
"""

from __future__ import annotations

from typing import Any

from flowyml.backend import hookimpl


@hookimpl
def flowyml_register_backends() -> list[type[Any]]:
    """The ``dask`` executor."""
    from flowyml_dask.executor import DaskExecutor

    return [DaskExecutor]
