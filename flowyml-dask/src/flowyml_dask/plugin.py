"""Entry point of the ``flowyml-dask`` plugin (group ``flowyml``).

Every ``flowyml`` command imports this module: it imports nothing of Dask.
"""

from __future__ import annotations

import sys
from typing import Any

from flowyml.backend import hookimpl


@hookimpl
def flowyml_register_backends() -> list[type[Any]]:
    """The ``dask`` executor."""
    from flowyml_dask.executor import DaskExecutor

    return [DaskExecutor]


@hookimpl
def flowyml_run_finished(run_id: str) -> None:
    """Close the cluster of a ``dask`` run once the run has ended and is recorded.

    The executor contract has no end-of-run call, so the run's end is heard here.
    """
    executor = sys.modules.get("flowyml_dask.executor")
    if executor is not None:  # not imported: no dask run happened in this process
        executor.close_run(run_id)
