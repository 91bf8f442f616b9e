"""Conformance: a step that fails, in each way a user can meet, fails the run with its
error, and nothing runs after it."""

from __future__ import annotations

from flowyml.storage.pipeline_run import PipelineRun
from flowyml.testing.harness import ConformanceBase, ConformanceProject
from flowyml.testing.pipelines import faulty

__all__ = ["FailureTests"]

_ENDS_PROCESS = (
    "steps do not each run in a process of their own, so a step ending its process takes "
    "more than itself with it (the run, or a worker shared with other steps)"
)


class FailureTests(ConformanceBase):
    """A raising step, ``sys.exit``, a ``KeyboardInterrupt`` the step raises itself, and
    (for backends that isolate steps) ``os._exit`` and a segfault: each is a failed step,
    a failed run, and the step after it never runs."""

    def run_fault(self, conformance: ConformanceProject, fault: str) -> PipelineRun:
        """Run ``faulty`` with ``fault``; check what every failing step has in common."""
        run = conformance.run(faulty, context={"fault": fault})
        assert not run.success
        assert run.status.value == "failed", run.status
        failed = run.step_results["misbehave"]
        assert failed.status.value == "failed", failed
        assert failed.error, "a failed step names its error"
        assert "downstream" not in run.step_results
        assert "downstream" in run.not_run
        assert run.error and "misbehave" in run.error
        record = conformance.record(run.run_id)
        assert record.status.value == "failed"
        stored = {s.step: s for s in record.steps}
        assert stored["misbehave"].status.value == "failed"
        assert stored["misbehave"].error == failed.error
        assert "downstream" not in stored or stored["downstream"].status.value != "success"
        return run

    def test_a_raising_step_fails_the_run_with_its_error_and_traceback(
        self, conformance: ConformanceProject
    ) -> None:
        run = self.run_fault(conformance, "raise")
        failed = run.step_results["misbehave"]
        assert "conformance: this step broke on purpose" in (failed.error or "")
        assert "ValueError" in (failed.error or "")
        traceback = failed.traceback or ""
        assert "ValueError: conformance: this step broke on purpose" in traceback, traceback
        assert "pipelines.py" in traceback and "misbehave" in traceback
        stored = {s.step: s for s in conformance.record(run.run_id).steps}
        assert "ValueError" in (stored["misbehave"].traceback or "")

    def test_a_step_calling_sys_exit_is_a_failed_step(
        self, conformance: ConformanceProject
    ) -> None:
        run = self.run_fault(conformance, "exit")
        assert "sys.exit(3)" in (run.step_results["misbehave"].error or "")

    def test_a_step_raising_keyboard_interrupt_itself_is_a_failed_step(
        self, conformance: ConformanceProject
    ) -> None:
        run = self.run_fault(conformance, "keyboard")
        assert "KeyboardInterrupt" in (run.step_results["misbehave"].error or "")

    def test_a_step_ending_its_process_with_os_exit_is_a_failed_step(
        self, conformance: ConformanceProject
    ) -> None:
        self.require("isolates_steps", _ENDS_PROCESS)
        run = self.run_fault(conformance, "os_exit")
        error = run.step_results["misbehave"].error or ""
        assert "code 7" in error, error

    def test_a_segfaulting_step_is_a_failed_step_naming_the_signal(
        self, conformance: ConformanceProject
    ) -> None:
        self.require("isolates_steps", _ENDS_PROCESS)
        run = self.run_fault(conformance, "segfault")
        error = run.step_results["misbehave"].error or ""
        assert "SIGSEGV" in error, error
