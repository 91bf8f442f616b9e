"""Conformance: completed work is reused, by a resumed run and by the cache, and only
while it is still valid."""

from __future__ import annotations

from flowyml.testing.examples import step_statuses
from flowyml.testing.harness import ConformanceBase, ConformanceProject
from flowyml.testing.pipelines import arithmetic, resumable

__all__ = ["CacheTests", "ResumeTests"]


class ResumeTests(ConformanceBase):
    """A resumed run reuses the steps the failed run completed and runs the rest; a
    parameter changed upstream makes the steps it reaches run again. (Cache off, so
    reuse comes from the resume alone.)"""

    def failed_run_id(self, conformance: ConformanceProject) -> str:
        """The id of a run of ``resumable`` whose last step failed."""
        failed = conformance.run(resumable, context={"fail": True})
        assert not failed.success
        assert step_statuses(failed) == {
            "base": "success",
            "add_bump": "success",
            "finish": "failed",
        }
        return failed.run_id

    def test_resume_reuses_completed_steps_and_reruns_the_failed_one(
        self, conformance: ConformanceProject
    ) -> None:
        failed = self.failed_run_id(conformance)
        resumed = conformance.run(resumable, context={"fail": False}, resume=failed)
        assert resumed.success, resumed.error
        assert resumed.outputs["final"] == 10040
        assert step_statuses(resumed) == {
            "base": "cached",
            "add_bump": "cached",
            "finish": "success",
        }
        assert conformance.record(resumed.run_id).resumed_from == failed

    def test_resume_reruns_what_a_changed_parameter_reaches(
        self, conformance: ConformanceProject
    ) -> None:
        failed = self.failed_run_id(conformance)
        resumed = conformance.run(resumable, context={"fail": False, "bump": 120}, resume=failed)
        assert resumed.success, resumed.error
        assert resumed.outputs["final"] == 10120
        assert step_statuses(resumed) == {
            "base": "cached",
            "add_bump": "success",
            "finish": "success",
        }


class CacheTests(ConformanceBase):
    """A second run with the same code and parameters is entirely served from the cache,
    with outputs equal to the first run's."""

    def test_a_second_identical_run_is_fully_cached_with_equal_outputs(
        self, conformance: ConformanceProject
    ) -> None:
        first = conformance.run(arithmetic, cache=True)
        assert first.success, first.error
        assert not any(r.cached for r in first.step_results.values())
        second = conformance.run(arithmetic, cache=True)
        assert second.success, second.error
        assert {name: r.cached for name, r in second.step_results.items()} == {
            name: True for name in first.step_results
        }
        assert set(second.outputs) == set(first.outputs)
        for name in first.outputs:
            assert second.outputs[name] == first.outputs[name], f"output '{name}' differs"
        stored = conformance.record(second.run_id)
        assert stored.status.value == "success"
        assert all(s.cached for s in stored.steps)
