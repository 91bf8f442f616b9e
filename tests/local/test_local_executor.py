"""The ``local`` backend end to end through Pipeline.run."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from flowyml import Context, ExecutionStatus, Pipeline, RetryPolicy, step
from flowyml_local import LocalExecutor


def test_outputs_flow_by_reference(project):
    array = np.ones(1000)

    @step(outputs=["arr"])
    def make():
        return array

    seen = {}

    @step(inputs=["arr"], outputs=["n"])
    def use(arr):
        seen["same"] = arr is array
        return int(arr.sum())

    run = Pipeline("ref", steps=[make, use]).run("local")
    assert run.success and run.outputs["n"] == 1000 and seen["same"]


def test_independent_steps_run_concurrently(project):
    barrier = threading.Barrier(3, timeout=10)

    def branch(i):
        def work():
            barrier.wait()  # only passes when all three branches run at once
            return i

        return step(name=f"b{i}", outputs=[f"o{i}"])(work)

    run = Pipeline("par", steps=[branch(i) for i in range(3)]).run("local")
    assert run.success, run.error


def test_multiple_outputs_from_tuple_and_dict(project):
    @step(outputs=["x", "y"])
    def as_tuple():
        return 1, 2

    @step(outputs=["p", "q"])
    def as_dict():
        return {"q": 4, "p": 3}

    run = Pipeline("multi", steps=[as_tuple, as_dict]).run()
    assert dict(run.outputs) == {"x": 1, "y": 2, "p": 3, "q": 4}


def test_wrong_number_of_outputs_fails_the_step_with_a_clear_error(project):
    @step(outputs=["x", "y"])
    def bad():
        return 1

    run = Pipeline("bad", steps=[bad]).run()
    assert not run.success
    assert "declares 2 outputs ['x', 'y'] but returned int" in run.step_results["bad"].error


def test_retries_with_backoff_then_success(project):
    calls = []

    @step(outputs=["v"], retry=RetryPolicy(max_retries=3, backoff=0.01, jitter=0))
    def flaky():
        calls.append(time.monotonic())
        if len(calls) < 3:
            raise ConnectionError("transient")
        return "ok"

    run = Pipeline("retry", steps=[flaky]).run()
    result = run.step_results["flaky"]
    assert run.success and result.retries == 2 and len(calls) == 3
    # The configured delays (0.01 s, then 0.02 s) are lower bounds; scheduling adds to them.
    assert calls[1] - calls[0] >= 0.0095 and calls[2] - calls[1] >= 0.0195


def test_exceptions_outside_retry_on_fail_at_once(project):
    calls = []

    @step(retry=RetryPolicy(max_retries=5, backoff=0, retry_on=(ConnectionError,)))
    def wrong():
        calls.append(1)
        raise KeyError("missing")

    run = Pipeline("noretry", steps=[wrong]).run()
    assert not run.success and len(calls) == 1 and run.step_results["wrong"].retries == 0


def test_step_over_its_timeout_fails_and_names_it(project):
    @step(timeout=0.2)
    def slow():
        time.sleep(3)

    start = time.monotonic()
    run = Pipeline("slow", steps=[slow]).run()
    assert not run.success and time.monotonic() - start < 2.5
    assert "exceeded its timeout of 0.2 s" in run.step_results["slow"].error


def test_failure_keeps_traceback_and_stops_the_run(project):
    import sample_steps

    run = sample_steps.failing.run()
    result = run.step_results["explode"]
    assert run.status is ExecutionStatus.FAILED
    assert result.error == "ValueError: cannot handle 10 numbers"
    assert "raise ValueError" in result.traceback


def test_continue_on_failure_runs_independent_branches(project):
    @step(outputs=["a"])
    def ok():
        return 1

    @step(outputs=["b"])
    def broken():
        raise RuntimeError("no")

    @step(inputs=["b"], outputs=["c"])
    def after_broken(b):
        return b

    @step(inputs=["a"], outputs=["d"])
    def after_ok(a):
        return a + 1

    pipeline = Pipeline("cont", steps=[broken, ok, after_broken, after_ok])
    run = pipeline.run(fail_fast=False, context={})
    assert not run.success and run.outputs["d"] == 2
    assert run.not_run == ["after_broken"]


def test_condition_false_skips_step_and_dependants(project):
    @step(outputs=["score"])
    def score():
        return 0.3

    @step(inputs=["score"], outputs=["deployed"], condition=lambda score: score > 0.5)
    def deploy(score):
        return True

    @step(inputs=["deployed"], outputs=["notified"])
    def notify(deployed):
        return True

    run = Pipeline("cond", steps=[score, deploy, notify]).run()
    assert run.success
    assert run.step_results["deploy"].skipped and run.step_results["notify"].skipped


def test_condition_naming_unknown_value_is_refused_before_running(project):
    from flowyml import PipelineDefinitionError

    @step(outputs=["x"], condition=lambda nothing_here: True)
    def guarded():
        return 1

    with pytest.raises(PipelineDefinitionError, match="condition of step 'guarded' reads"):
        Pipeline("cond", steps=[guarded]).run()


def test_logs_of_concurrent_steps_do_not_mix(project):
    barrier = threading.Barrier(2, timeout=10)

    def talker(tag):
        def talk():
            for i in range(50):
                print(f"{tag}-{i}")
                if i == 10:
                    barrier.wait()
            return tag

        return step(name=f"talk_{tag}", outputs=[f"o_{tag}"])(talk)

    run = Pipeline("logs", steps=[talker("x"), talker("y")]).run(echo_logs=False)
    x_logs = run.step_results["talk_x"].logs
    y_logs = run.step_results["talk_y"].logs
    assert x_logs.count("x-") == 50 and "y-" not in x_logs
    assert y_logs.count("y-") == 50 and "x-" not in y_logs


def test_unmaterializable_output_fails_the_step_naming_output(project):
    @step(outputs=["lock"])
    def make_lock():
        return threading.Lock()

    run = Pipeline("lock", steps=[make_lock]).run()
    assert not run.success
    assert "output 'lock' of step 'make_lock'" in run.step_results["make_lock"].error


def test_seed_signature_works_without_a_pipeline():
    @step(inputs=["x"], outputs=["y"])
    def inc(x, by):
        return x + by

    result = LocalExecutor().execute_step(inc, {"x": 1}, {"by": 2})
    assert result.success and result.output == 3


def test_execute_step_group_runs_members_in_order(project):
    import sample_steps

    from flowyml import group_steps

    [group] = group_steps(sample_steps.grouped.build_dag())
    results = LocalExecutor().execute_step_group(group, {}, context=Context())
    assert [r.step_name for r in results] == ["pair_first", "pair_second"]
    assert results[1].output == 3


def test_an_output_that_was_not_produced_says_why(project):
    import pytest

    from flowyml import FlowyMLError, Pipeline, step

    @step(outputs=["flag"])
    def decide():
        return False

    @step(inputs=["flag"], outputs=["model"], condition=lambda flag: flag)
    def train(flag):
        return 1

    @step(outputs=["broken"])
    def explode():
        raise RuntimeError("no luck")

    run = Pipeline("why", steps=[decide, train, explode]).run(fail_fast=False)
    with pytest.raises(KeyError, match="step 'train' .* was skipped"):
        run.outputs["model"]
    with pytest.raises(FlowyMLError, match="step 'explode' .* failed: RuntimeError: no luck"):
        run.outputs["broken"]
    with pytest.raises(KeyError, match="no output named 'modle'; outputs of this run: flag"):
        run.outputs["modle"]
    assert run.outputs.get("model") is None and "model" not in run.outputs


def test_an_override_for_a_misspelled_step_or_parameter_fails_before_anything_runs(project):
    import pytest

    from flowyml import Context, Pipeline, PipelineDefinitionError, step

    ran = []

    @step(outputs=["m"])
    def fit(lr: float = 0.1):
        ran.append(lr)
        return lr

    pipeline = Pipeline("ov", steps=[fit])
    with pytest.raises(PipelineDefinitionError, match="step 'fitt': there is no such step"):
        pipeline.run(context=Context().override("fitt", lr=0.5))
    with pytest.raises(PipelineDefinitionError, match="no parameter 'lrr'; did you mean 'lr'"):
        pipeline.run(context=Context().override("fit", lrr=0.5))
    assert ran == []


def test_a_timeout_is_retried_only_when_retry_on_names_it(project):
    import time as clock

    from flowyml import Pipeline, RetryPolicy, StepTimeoutError, step

    calls = {"plain": 0, "named": 0}

    @step(outputs=["p"], timeout=0.2, retry=2)
    def plain():
        calls["plain"] += 1
        clock.sleep(1)

    @step(
        outputs=["n"],
        timeout=0.2,
        retry=RetryPolicy(max_retries=2, backoff=0, retry_on=(StepTimeoutError,)),
    )
    def named():
        calls["named"] += 1
        if calls["named"] < 3:
            clock.sleep(1)
        return "done"

    run = Pipeline("timeouts", steps=[plain, named]).run(fail_fast=False)
    assert calls["plain"] == 1 and not run.step_results["plain"].success
    assert run.outputs["n"] == "done" and run.step_results["named"].retries == 2


class _Payload:
    """A value whose release a weak reference can see."""


@pytest.mark.parametrize("cache", [False, True])
def test_a_run_leaves_no_reference_cycles_so_its_values_are_freed_at_once(project, cache):
    # Values held by a cycle wait for the cyclic collector, which may not run for a long
    # time: a pipeline of large arrays would keep every run's outputs in memory.
    import gc
    import weakref

    made: list[weakref.ref[_Payload]] = []

    @step(outputs=["p"])
    def make():
        payload = _Payload()
        made.append(weakref.ref(payload))
        return payload

    @step(inputs=["p"], outputs=["q"])
    def keep(p):
        return p

    @step(outputs=["r"])
    def other():
        return 1

    pipeline = Pipeline("freed", steps=[make, keep, other])
    pipeline.run("local", cache=cache)  # a first run, so that the second finds its caches warm
    gc.collect()
    gc.disable()
    try:
        gc.set_debug(gc.DEBUG_SAVEALL)
        run = pipeline.run("local", cache=cache)
        assert run.success, run.error
        del run
        assert all(ref() is None for ref in made[-1:]), "the run's output outlived the run"
        gc.collect()
        kinds = sorted({type(obj).__name__ for obj in gc.garbage})
        assert not gc.garbage, f"the run left reference cycles of {kinds}"
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
