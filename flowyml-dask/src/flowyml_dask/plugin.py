"""Entry point of the ``flowyml-dask`` plugin (group ``flowyml``).

Every ``flowyml`` command imports this module: it imports nothing of Dask.
"""

from __future__ import annotations

from flowyml.backend import BackendReference, hookimpl


@hookimpl
def flowyml_register_backends() -> list[BackendReference]:
    """The ``dask`` executor, imported when it is used."""
    return [BackendReference("dask", "flowyml_dask.executor:DaskExecutor")]
