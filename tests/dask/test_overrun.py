"""A step past its timeout is stopped on its Dask worker (``flowyml_dask/overrun.py``):
in its thread when it runs Python code, by restarting its worker when it is blocked in C
code; either way the run records the timeout and nothing of it runs on."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask_pipelines as pipelines
import pytest
from conftest import DaskCluster, start_cluster

from flowyml.testing import ConformanceBase, ConformanceProject, wait_for

#: Seconds past the steps' one-second timeout within which their runs must end: the
#: stop's grace, a worker restart, and a loaded machine's slack.
ENDED_WITHIN = 15.0


def _noted(probes: Path, step: str) -> tuple[int, int]:
    pid, ident = (probes / step).read_text().split()
    return int(pid), int(ident)


def _running(cluster: DaskCluster, run_id: str) -> list[str]:
    client: Any = cluster.client()
    try:
        processing = client.processing()
    finally:
        client.close()
    prefix = f"flowyml-{run_id}-"
    return [str(k) for keys in processing.values() for k in keys if str(k).startswith(prefix)]


def _thread_alive(cluster: DaskCluster, ident: int) -> bool:
    client: Any = cluster.client()
    try:
        return any(client.run(pipelines.thread_alive, ident).values())
    finally:
        client.close()


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture(scope="module")
def cluster() -> Iterator[DaskCluster]:
    """Two workers of one thread, with nannies; one of them is restarted by a test."""
    started = start_cluster(("--nthreads", "1"), ("--nthreads", "1"))
    yield started
    started.stop()


class TestOverrun(ConformanceBase):
    @pytest.fixture
    def backend_stack(self, cluster: DaskCluster) -> dict[str, Any]:
        return {"backend": "dask", "settings": {"address": cluster.address}}

    def _run(self, conformance: ConformanceProject, pipeline: Any, step: str) -> Any:
        started = time.monotonic()
        run = conformance.run(pipeline, context={"probe_dir": str(conformance.probe_dir)})
        took = time.monotonic() - started
        assert took < 1 + ENDED_WITHIN, f"the run took {took:.0f} s"
        assert run.status.value == "failed"
        error = run.step_results[step].error or ""
        assert f"step '{step}' exceeded its timeout of 1 s" in error, error
        record = conformance.record(run.run_id)
        (stored,) = record.steps
        assert record.status.value == "failed" and stored.error == error
        assert stored.duration is not None and stored.duration < 1 + ENDED_WITHIN
        return run

    def test_a_step_running_python_past_its_timeout_is_stopped_in_its_thread(
        self, conformance: ConformanceProject, cluster: DaskCluster
    ) -> None:
        run = self._run(conformance, pipelines.spinning, "spin")
        pid, ident = _noted(conformance.probe_dir, "spin")
        assert not _thread_alive(cluster, ident), "the step's thread still runs on its worker"
        assert _alive(pid), "its worker was restarted, though stopping the thread sufficed"
        assert not _running(cluster, run.run_id)
        assert "and was stopped" in (run.step_results["spin"].error or "")

    def test_a_step_blocked_in_c_past_its_timeout_is_stopped_by_restarting_its_worker(
        self, conformance: ConformanceProject, cluster: DaskCluster
    ) -> None:
        run = self._run(conformance, pipelines.blocking, "block")
        pid, _ident = _noted(conformance.probe_dir, "block")
        wait_for(lambda: not _alive(pid), 5, f"the worker process {pid} running the step to end")
        assert not _running(cluster, run.run_id)
        error = run.step_results["block"].error or ""
        assert "restarted by its nanny" in error, error
        cluster.wait_for_workers(2)  # the nanny brought the worker back
