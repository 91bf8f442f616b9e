"""Conformance: a run stopped while a step sleeps is cancelled and nothing of it runs on."""

from __future__ import annotations

import pytest

from flowyml.errors import RunInterrupted
from flowyml.execution.remote import RemoteOrchestrator
from flowyml.storage.pipeline_run import PipelineRun
from flowyml.testing.harness import ConformanceBase, ConformanceProject, Leftovers, wait_for
from flowyml.testing.pipelines import sleepy

__all__ = ["StopTests"]

NAP_SECONDS = 120.0


class StopTests(ConformanceBase):
    """Ctrl-C of the process that owns a run (``RunInterrupted``), and ``stop_run`` of a
    remote orchestrator, cancel the run while its step sleeps: the step is not left
    running, the step after it never starts, and the record and the step's result say
    cancelled."""

    def assert_nothing_left(
        self, conformance: ConformanceProject, leftovers: Leftovers, run_id: str
    ) -> None:
        """No step process of this host and nothing ``leftovers`` finds remains."""
        conformance.assert_no_step_process_left(self.stop_seconds)
        wait_for(lambda: not leftovers(run_id), self.stop_seconds, f"{run_id} to leave nothing")

    def assert_cancelled_record(self, conformance: ConformanceProject, run_id: str) -> None:
        """The run store records the run cancelled and ``wake`` never finished."""

        def final() -> object:
            record = conformance.record(run_id)
            return record if record.status.is_finished else None

        record = wait_for(final, self.stop_seconds, f"{run_id} to be recorded finished")
        assert record.status.value == "cancelled", (record.status, record.error)
        stored = {s.step: s.status.value for s in record.steps}
        assert stored.get("nap") == "cancelled", stored
        assert stored.get("wake") in (None, "cancelled"), stored

    def interrupted_run(self, conformance: ConformanceProject) -> PipelineRun:
        """Run ``sleepy``, press Ctrl-C once ``nap`` runs; the run ``RunInterrupted`` holds."""
        self.require(
            "stops_running_steps", "a step running in this process cannot be stopped, only left"
        )
        run_id = conformance.new_run_id()
        context = {"sleep_seconds": NAP_SECONDS, "probe_dir": str(conformance.probe_dir)}
        with (
            pytest.raises(RunInterrupted) as interrupted,
            conformance.interrupt_when_running("nap", run_id, self.step_start_seconds),
        ):
            conformance.run(sleepy, run_id=run_id, context=context)
        run = interrupted.value.run
        assert isinstance(run, PipelineRun), "RunInterrupted carries the cancelled run"
        assert run.run_id == run_id
        return run

    def test_an_interrupted_run_is_cancelled_and_leaves_nothing_running(
        self, conformance: ConformanceProject, leftovers: Leftovers
    ) -> None:
        run = self.interrupted_run(conformance)
        assert run.status.value == "cancelled", run
        assert "wake" not in run.step_results or not run.step_results["wake"].success
        self.assert_nothing_left(conformance, leftovers, run.run_id)
        self.assert_cancelled_record(conformance, run.run_id)

    def test_a_step_stopped_with_its_run_is_reported_cancelled(
        self, conformance: ConformanceProject
    ) -> None:
        run = self.interrupted_run(conformance)
        nap = run.step_results["nap"]
        assert nap.status.value == "cancelled", nap
        if conformance.is_remote:
            backend = conformance.new_backend()
            assert isinstance(backend, RemoteOrchestrator)
            asked = backend.step_results(run.run_id)["nap"]
            assert asked.status.value == "cancelled", asked

    def test_stop_run_cancels_a_submitted_run_and_leaves_nothing_running(
        self, conformance: ConformanceProject, leftovers: Leftovers
    ) -> None:
        self.require_remote(conformance, "stop_run")
        backend = conformance.new_backend()
        assert isinstance(backend, RemoteOrchestrator)
        run_id = conformance.new_run_id()
        submission = backend.run_pipeline(
            sleepy,
            run_id,
            context={"sleep_seconds": NAP_SECONDS, "probe_dir": str(conformance.probe_dir)},
            stack=conformance.stack_config(conformance.nocache_stack),
            fail_fast=True,
            echo_logs=False,
        )
        assert submission.run_id == run_id
        wait_for(
            lambda: conformance.is_running("nap", run_id, backend),
            self.step_start_seconds,
            "step 'nap' to run",
        )
        assert not backend.get_run_status(submission.job_id).is_finished
        backend.stop_run(submission.job_id)
        assert submission.wait(timeout=self.stop_seconds).value == "cancelled"
        assert backend.get_run_status(submission.job_id).value == "cancelled"
        results = backend.step_results(submission.job_id)
        assert not results["nap"].success, results["nap"]
        assert "wake" not in results or not results["wake"].success
        self.assert_nothing_left(conformance, leftovers, run_id)
        self.assert_cancelled_record(conformance, run_id)
