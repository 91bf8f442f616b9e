"""Resuming a failed run reuses its completed steps."""

from __future__ import annotations

import pytest

from flowyml import Pipeline, RunNotFoundError, step


def test_resume_reuses_completed_steps_and_reruns_the_failed_one(project):
    state = {"fail": True, "runs": []}

    @step(outputs=["a"], cache=False)
    def first():
        state["runs"].append("first")
        return 41

    @step(inputs=["a"], outputs=["b"], cache=False)
    def second(a):
        state["runs"].append("second")
        if state["fail"]:
            raise RuntimeError("flaky dependency")
        return a + 1

    pipeline = Pipeline("resumable", steps=[first, second])
    failed = pipeline.run()
    assert not failed.success
    state["fail"] = False
    resumed = pipeline.run(resume=failed.run_id)
    assert resumed.success and resumed.outputs["b"] == 42
    assert state["runs"] == ["first", "second", "second"]
    assert resumed.step_results["first"].cached


def test_resume_of_unknown_run_is_a_clear_error(project):
    @step(outputs=["a"])
    def only():
        return 1

    with pytest.raises(RunNotFoundError, match="run 'deadbeef' does not exist"):
        Pipeline("p", steps=[only]).run(resume="deadbeef")
