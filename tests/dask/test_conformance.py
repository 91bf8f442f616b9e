"""The conformance suite on the ``dask`` backend, against a real scheduler and workers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import DaskCluster

from flowyml.testing import BackendConformance, ExampleTests


class TestDaskConformance(BackendConformance):
    """`dask` on a scheduler and two workers started as processes on 127.0.0.1.

    Steps run in worker processes shared with other steps (not isolated); a stop restarts
    the workers running the run's steps, so nothing of it keeps running.
    """

    stops_running_steps = True
    stop_seconds = 30.0
    step_start_seconds = 60.0

    @pytest.fixture
    def backend_stack(self, dask_cluster: DaskCluster) -> dict[str, Any]:
        return {"backend": "dask", "settings": {"address": dask_cluster.address}}

    @pytest.fixture
    def leftovers(self, dask_cluster: DaskCluster) -> Callable[[str], list[str]]:
        def running(run_id: str) -> list[str]:
            client: Any = dask_cluster.client()
            try:
                processing = client.processing()
            finally:
                client.close()
            prefix = f"flowyml-{run_id}-"
            return [
                str(k) for keys in processing.values() for k in keys if str(k).startswith(prefix)
            ]

        return running


class TestDaskLocalClusterExamples(ExampleTests):
    """The examples on the default: a ``LocalCluster`` created for each run, then closed."""

    @pytest.fixture
    def backend_stack(self) -> dict[str, Any]:
        return {"backend": "dask", "settings": {"n_workers": 2}}
