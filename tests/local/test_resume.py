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


def _diamond(state):
    @step(outputs=["a"])
    def base(offset: int = 0):
        state["runs"].append("base")
        return 10000 + offset

    @step(inputs=["a"], outputs=["b"])
    def plus(a, bump: int = 40):
        state["runs"].append("plus")
        return a + bump

    @step(inputs=["b"], outputs=["d"])
    def last(b):
        state["runs"].append("last")
        if state["fail"]:
            raise RuntimeError("flaky")
        return b

    return Pipeline("diamond", steps=[base, plus, last])


def test_resume_after_a_parameter_change_reruns_what_depends_on_it(project):
    state = {"fail": True, "runs": []}
    pipeline = _diamond(state)
    failed = pipeline.run(context={"bump": 40})
    assert not failed.success
    state["fail"] = False
    resumed = pipeline.run(context={"bump": 120}, resume=failed.run_id)
    assert resumed.success and resumed.outputs["d"] == 10120
    assert resumed.step_results["base"].cached and not resumed.step_results["plus"].cached


def test_resume_after_an_upstream_code_change_reruns_the_changed_step(project):
    source = (
        "@step(outputs=['a'], cache=False)\ndef base():\n    return {value}\n"
        "@step(inputs=['a'], outputs=['b'], cache=False)\n"
        "def last(a):\n    if STATE['fail']:\n        raise RuntimeError('flaky')\n    return a\n"
    )
    state = {"fail": True}

    def build(value):
        namespace = {"step": step, "STATE": state}
        exec(source.format(value=value), namespace)
        return Pipeline("edited", steps=[namespace["base"], namespace["last"]])

    failed = build(10040).run()
    assert not failed.success
    state["fail"] = False
    resumed = build(10120).run(resume=failed.run_id)
    assert resumed.outputs["b"] == 10120
    assert not resumed.step_results["base"].cached


def test_resume_with_the_cache_off_reuses_every_completed_step(project):
    (project / "flowyml.yaml").write_text(
        "stacks:\n  nocache:\n    backend: local\n    cache: false\n"
    )
    state = {"fail": True, "runs": []}

    @step(outputs=["a"])
    def first():
        state["runs"].append("first")
        return 1

    @step(inputs=["a"], outputs=["b"])
    def second(a):
        state["runs"].append("second")
        return a + 1

    @step(inputs=["b"], outputs=["c"])
    def third(b):
        state["runs"].append("third")
        if state["fail"]:
            raise RuntimeError("flaky")
        return b + 1

    pipeline = Pipeline("nocache", steps=[first, second, third])
    failed = pipeline.run("nocache")
    state["fail"] = False
    resumed = pipeline.run("nocache", resume=failed.run_id)
    assert resumed.outputs["c"] == 3
    assert state["runs"] == ["first", "second", "third", "third"]
