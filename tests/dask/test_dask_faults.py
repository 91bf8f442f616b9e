"""What the ``dask`` backend records when workers die, run out of memory, lack resources,
the scheduler goes away or the run is stopped; and that nothing of a finished run keeps
running on the cluster."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import dask_pipelines as pipelines
import pytest
from conftest import DaskCluster, start_cluster

from flowyml.testing import ConformanceBase, ConformanceProject, wait_for


def _running(cluster: DaskCluster, run_id: str) -> list[str]:
    client: Any = cluster.client()
    try:
        processing = client.processing()
    finally:
        client.close()
    prefix = f"flowyml-{run_id}-"
    return [str(k) for keys in processing.values() for k in keys if str(k).startswith(prefix)]


class TestOnTheSharedCluster(ConformanceBase):
    """Routing and spreading on the session's two workers."""

    @pytest.fixture
    def backend_stack(self, dask_cluster: DaskCluster) -> dict[str, Any]:
        return {"backend": "dask", "settings": {"address": dask_cluster.address}}

    def test_a_64_step_fan_out_runs_on_both_workers(self, conformance: ConformanceProject) -> None:
        run = conformance.run(pipelines.fan_out)
        assert run.success, run.error
        assert run.outputs["workers"] == ["gpu", "plain"]

    def test_a_gpu_step_runs_on_the_one_worker_advertising_gpu(
        self, conformance: ConformanceProject
    ) -> None:
        for _ in range(3):
            run = conformance.run(pipelines.gpu_routed)
            assert run.success, run.error
            assert run.outputs["device"] == "gpu"

    def test_resources_no_worker_offers_fail_the_step_before_submission(
        self, conformance: ConformanceProject
    ) -> None:
        run = conformance.run(pipelines.two_gpus)
        assert not run.success
        error = run.step_results["on_two_gpus"].error or ""
        assert "GPU=2" in error and "no worker" in error, error


class TestWorkerFaults(ConformanceBase):
    """A cluster per test: one test kills a worker, the other exhausts its memory."""

    @pytest.fixture
    def cluster(
        self, request: pytest.FixtureRequest, own_cluster: list[DaskCluster]
    ) -> DaskCluster:
        if request.node.name.startswith("test_a_worker_past_its_memory"):
            started = start_cluster(("--nthreads", "1", "--memory-limit", "300MiB"))
        else:
            started = start_cluster(("--nthreads", "1"), ("--nthreads", "1"))
        own_cluster.append(started)
        return started

    @pytest.fixture
    def backend_stack(self, cluster: DaskCluster) -> dict[str, Any]:
        return {"backend": "dask", "settings": {"address": cluster.address}}

    def test_a_worker_killed_mid_step_fails_the_attempt_and_the_retry_runs_elsewhere(
        self, conformance: ConformanceProject, cluster: DaskCluster
    ) -> None:
        probes = conformance.probe_dir
        killed: dict[str, str] = {}

        def kill_first_attempt() -> None:
            note = wait_for(lambda: next(probes.glob("attempt-*"), None), 60, "the first attempt")
            wait_for(note.read_text, 5, "the first attempt's worker address")
            killed["address"] = note.read_text()
            os.kill(int(note.name.removeprefix("attempt-")), signal.SIGKILL)

        killer = threading.Thread(target=kill_first_attempt, daemon=True)
        killer.start()
        run = conformance.run(pipelines.killed_worker, context={"probe_dir": str(probes)})
        killer.join(5)
        assert run.success, run.error
        result = run.step_results["doomed"]
        assert result.retries == 1
        assert "KilledWorker" in result.logs and killed["address"] in result.logs, result.logs
        assert run.outputs["where"] != killed["address"]
        assert not _running(cluster, run.run_id)

    def test_a_worker_past_its_memory_limit_fails_the_step_naming_the_limit(
        self, conformance: ConformanceProject, cluster: DaskCluster
    ) -> None:
        run = conformance.run(pipelines.memory_hog)
        assert not run.success
        error = run.step_results["hog"].error or ""
        assert "memory limit" in error and "nanny" in error, error
        record = conformance.record(run.run_id)
        assert record.status.value == "failed"
        assert "memory limit" in (record.error or ""), record.error


class TestSchedulerLoss(ConformanceBase):
    """A scheduler of its own, killed while a step runs."""

    #: How soon after the scheduler's death the run must be recorded, far below the
    #: ``connect_timeout`` the client would otherwise spend trying to reconnect.
    RECORDED_WITHIN = 10.0

    @pytest.fixture
    def cluster(self, own_cluster: list[DaskCluster]) -> DaskCluster:
        own_cluster.append(start_cluster(("--nthreads", "1")))
        return own_cluster[-1]

    @pytest.fixture
    def backend_stack(self, cluster: DaskCluster) -> dict[str, Any]:
        return {"backend": "dask", "settings": {"address": cluster.address, "connect_timeout": 30}}

    def test_a_scheduler_killed_mid_step_fails_the_step_and_the_run_naming_it(
        self, conformance: ConformanceProject, cluster: DaskCluster
    ) -> None:
        from distributed import Client

        probes = conformance.probe_dir
        killed_at: list[float] = []

        def kill_scheduler() -> None:
            wait_for(lambda: (probes / "nap").exists(), 60, "the step to run")
            killed_at.append(time.monotonic())
            os.killpg(cluster.processes[0].pid, signal.SIGKILL)

        killer = threading.Thread(target=kill_scheduler, daemon=True)
        killer.start()
        run = conformance.run(pipelines.sleepy, context={"probe_dir": str(probes)})
        took = time.monotonic() - killed_at[0]
        killer.join(5)
        assert took < self.RECORDED_WITHIN, f"the run ended {took:.0f} s after the scheduler died"
        assert run.status.value == "failed"
        error = run.step_results["nap"].error or ""
        assert "BackendError" in error and f"lost the scheduler at {cluster.address}" in error
        assert f"--resume {run.run_id}" in error, error
        record = conformance.record(run.run_id)
        assert record.status.value == "failed" and error in (record.error or ""), record.error
        (stored,) = record.steps
        assert stored.status.value == "failed" and stored.error == error
        # The run's client is closed, not left reconnecting in the background.
        assert not [c for c in Client._instances if c.status != "closed" and _of(c, cluster)]


class TestInterrupt(ConformanceBase):
    """Ctrl-C of a ``flowyml run`` process cancels the run and stops its step."""

    @pytest.fixture
    def backend_stack(self, dask_cluster: DaskCluster) -> dict[str, Any]:
        return {"backend": "dask", "settings": {"address": dask_cluster.address}}

    @staticmethod
    def _start_sleepy(cli: Any, conformance: ConformanceProject) -> tuple[Any, int]:
        """``flowyml run`` of the sleepy pipeline, once its step runs: the process, and
        the pid of the worker process running the step."""
        probes = conformance.probe_dir
        process = cli.start(
            "run",
            f"{Path(pipelines.__file__)}:sleepy",
            "--backend",
            conformance.nocache_stack,
            "-p",
            f"probe_dir={probes}",
        )
        note = wait_for(lambda: next(probes.glob("nap"), None), 60, "the step to run")
        return process, int(wait_for(note.read_text, 5, "its pid"))

    def test_ctrl_c_of_flowyml_run_leaves_nothing_running_on_the_cluster(
        self, conformance: ConformanceProject, dask_cluster: DaskCluster
    ) -> None:
        from cli_process import FlowymlCli, only_run

        cli = FlowymlCli(conformance.root)
        try:
            process, pid = self._start_sleepy(cli, conformance)
            process.send_signal(signal.SIGINT)
            assert process.wait(60) == 130, process.stderr.read() if process.stderr else ""
        finally:
            cli.stop_all()
        run = only_run(conformance.root)
        assert run.status.value == "cancelled", run
        wait_for(lambda: not _alive(pid), 30, f"the worker process {pid} running the step to end")
        assert not _running(dask_cluster, run.run_id)

    def test_runs_stop_from_another_process_cancels_the_run_its_output_kept(
        self, conformance: ConformanceProject, dask_cluster: DaskCluster
    ) -> None:
        from cli_process import FlowymlCli, only_run

        from flowyml.storage.database import Database
        from flowyml.storage.run_store import RunStore

        cli = FlowymlCli(conformance.root)
        try:
            process, pid = self._start_sleepy(cli, conformance)
            run_id = only_run(conformance.root).run_id
            store = RunStore(Database(conformance.root / ".flowyml" / "flowyml.db"))

            def printed() -> str:
                return "".join(text for _, _, text in store.get_logs(run_id, "nap"))

            wait_for(lambda: "napping" in printed(), 30, "the task's line in the run store")
            stopped = cli.run("runs", "stop", run_id)
            assert stopped.returncode == 0, stopped.stderr
            assert process.wait(60) == 130, process.stderr.read() if process.stderr else ""
        finally:
            cli.stop_all()
        assert only_run(conformance.root).status.value == "cancelled"
        assert "napping" in printed()
        wait_for(lambda: not _alive(pid), 30, f"the worker process {pid} running the step to end")
        assert not _running(dask_cluster, run_id)


def _of(client: Any, cluster: DaskCluster) -> bool:
    scheduler = getattr(client, "scheduler", None)
    return getattr(scheduler, "address", None) == cluster.address


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
