"""Resource usage on ``dask``: a step shares its worker process with other tasks, so its
figures are its thread's CPU time and the worker's peak growth, marked approximate."""

from __future__ import annotations

from typing import Any

import dask_pipelines as pipelines
import pytest
from conftest import DaskCluster

from flowyml.testing import ConformanceBase, ConformanceProject


class TestUsage(ConformanceBase):
    @pytest.fixture
    def backend_stack(self, dask_cluster: DaskCluster) -> dict[str, Any]:
        return {"backend": "dask", "settings": {"address": dask_cluster.address}}

    def test_a_step_s_thread_cpu_is_recorded_as_approximate(
        self, conformance: ConformanceProject
    ) -> None:
        run = conformance.run(pipelines.burner)
        assert run.success, run.error
        [step] = conformance.record(run.run_id).steps
        usage = step.usage
        assert usage is not None and not usage.exact and usage.source == "thread", usage
        assert abs(usage.cpu_seconds - pipelines.BURN_SECONDS) <= 0.15 * pipelines.BURN_SECONDS
        assert usage.wall_seconds >= usage.cpu_seconds * 0.9
