"""The settings of the ``dask`` backend, and how a step's resources become Dask's.

Kept apart from the executor so that loading a stack (and validating its settings) does
not import ``distributed``.
"""

from __future__ import annotations

import os
from typing import Any

from pydantic import Field, field_validator

from flowyml.backend import ExecutorConfig, parse_memory

__all__ = ["ADDRESS_ENV", "DaskExecutorConfig", "dask_resources"]

#: Where the scheduler address comes from when the stack names none (Dask's own variable).
ADDRESS_ENV = "DASK_SCHEDULER_ADDRESS"


class DaskExecutorConfig(ExecutorConfig):
    """Settings of the ``dask`` backend.

    Attributes:
        address: the scheduler of an existing cluster (``tcp://host:8786``); default
            ``$DASK_SCHEDULER_ADDRESS``; without either, a ``LocalCluster`` is created for
            the run and closed after it.
        n_workers: worker processes of that local cluster.
        threads_per_worker: threads of each of its workers (steps run at once per worker).
        memory_limit: memory of each of its workers (``"2Gi"``, ``"4GB"``, ``"auto"``: the machine's
            memory shared out, ``"0"``: no limit); its nanny restarts a worker past 95 %.
        dashboard: serve the local cluster's dashboard (on a free port).
        max_in_flight: how many steps may be submitted and not finished at once.
        connect_timeout: seconds to wait for the scheduler before the run fails.
        echo_logs: also print what steps print, while they run (their output is captured
            either way).
    """

    address: str | None = None
    n_workers: int = Field(default=2, ge=1, le=256)
    threads_per_worker: int = Field(default=1, ge=1, le=256)
    memory_limit: str = "auto"
    dashboard: bool = False
    max_in_flight: int = Field(default=256, ge=1, le=4096)
    connect_timeout: float = Field(default=30.0, gt=0)
    echo_logs: bool = True

    @field_validator("memory_limit")
    @classmethod
    def _memory_parses(cls, value: str) -> str:
        # Checked when the stack is loaded, not when the cluster fails to start.
        if value not in ("auto", "0"):
            parse_memory(value)
        return value


def default_address(address: str | None) -> str | None:
    """The configured address, else ``$DASK_SCHEDULER_ADDRESS``, else ``None``."""
    return address or os.environ.get(ADDRESS_ENV) or None


def dask_resources(resources: Any) -> dict[str, float]:
    """A ``ResourceConfig`` as Dask worker resources: ``CPU``, ``GPU`` and ``MEM`` (bytes).

    Only what the step asks for is requested: a step without resources runs on any worker.
    Workers advertise theirs with ``dask worker ADDRESS --resources "CPU=8 GPU=1 MEM=32e9"``.
    """
    if resources is None:
        return {}
    wanted: dict[str, float] = {}
    if resources.cpu:
        wanted["CPU"] = float(resources.cpu)
    if resources.gpu:
        wanted["GPU"] = float(resources.gpu)
    if resources.memory:
        wanted["MEM"] = float(parse_memory(resources.memory))
    return wanted
