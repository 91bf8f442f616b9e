"""Conformance: a step's retry policy and timeout are applied where it runs."""

from __future__ import annotations

import os
import time

from flowyml.testing.harness import ConformanceBase, ConformanceProject, Leftovers, wait_for
from flowyml.testing.pipelines import overrunning, retrying

__all__ = ["RetryTests", "TimeoutTests"]

# `overrun` sleeps this long; a run that takes half of it did not stop at the timeout.
OVERRUN_SECONDS = 120.0


class RetryTests(ConformanceBase):
    """A step that fails twice and then succeeds, with two retries allowed, succeeds, and
    its result and record say it was retried twice."""

    def test_a_step_failing_twice_succeeds_on_its_second_retry(
        self, conformance: ConformanceProject
    ) -> None:
        token = os.urandom(4).hex()
        run = conformance.run(retrying, context={"token": token})
        assert run.success, run.error
        assert run.outputs["attempts"] == 3
        result = run.step_results["flaky"]
        assert result.status.value == "success"
        assert result.retries == 2
        (stored,) = conformance.record(run.run_id).steps
        assert stored.retries == 2 and stored.status.value == "success"


class TimeoutTests(ConformanceBase):
    """A step past its one-second timeout fails with a timeout error long before its
    sleep would end; a backend that isolates steps leaves no process of it running."""

    def test_a_step_past_its_timeout_fails_without_waiting_for_it(
        self, conformance: ConformanceProject, leftovers: Leftovers
    ) -> None:
        started = time.monotonic()
        run = conformance.run(
            overrunning,
            context={"sleep_seconds": OVERRUN_SECONDS, "probe_dir": str(conformance.probe_dir)},
        )
        took = time.monotonic() - started
        assert took < OVERRUN_SECONDS / 2, f"the run took {took:.0f} s: the timeout did not act"
        assert not run.success and run.status.value == "failed"
        result = run.step_results["overrun"]
        assert result.status.value == "failed"
        assert "timeout" in (result.error or "").lower(), result.error
        assert result.duration_seconds < OVERRUN_SECONDS / 2
        (stored,) = conformance.record(run.run_id).steps
        assert stored.status.value == "failed" and stored.error == result.error
        if self.isolates_steps:
            conformance.assert_no_step_process_left(self.stop_seconds)
        wait_for(lambda: not leftovers(run.run_id), self.stop_seconds, "nothing of the run left")
