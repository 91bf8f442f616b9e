"""Quick groups run on the scheduler's thread; slow and blocked ones never wait behind them
(flowyml/execution/quick_groups.py, flowyml/execution/run_loop.py)."""

from __future__ import annotations

import threading
import time

from flowyml import Pipeline, step

MAIN = threading.main_thread().name


def _fan_out(name: str, width: int, body):
    """``width`` independent steps calling ``body(i)`` and a join of their outputs."""

    def make(i):
        def work():
            return body(i)

        return step(name=f"{name}{i}", outputs=[f"{name}_o{i}"], cache=False)(work)

    @step(inputs=[f"{name}_o{i}" for i in range(width)], outputs=["total"], cache=False)
    def join(*parts):
        return len(parts)

    return Pipeline(name, steps=[*(make(i) for i in range(width)), join])


def _runs_until(pipeline, condition, before=lambda: None, tries: int = 10):
    """Run the pipeline until ``condition()`` holds after a run (``before()`` ahead of
    each): where a group runs follows measured durations, which a loaded machine can
    stretch for a run or two."""
    for _ in range(tries):
        before()
        run = pipeline.run("local")
        assert run.success, run.error
        if condition():
            return run
    raise AssertionError(f"not once in {tries} runs")


def test_a_warm_fan_out_of_quick_steps_runs_on_the_scheduler_thread(project):
    threads: dict[int, str] = {}

    def body(i):
        threads[i] = threading.current_thread().name
        return i

    pipeline = _fan_out("q", 50, body)
    assert pipeline.run("local").success
    assert set(threads.values()) != {MAIN}  # first run: nothing known, the workers run them
    run = _runs_until(pipeline, lambda: set(threads.values()) == {MAIN}, threads.clear)
    assert run.outputs["total"] == 50
    assert all(r.success for r in run.step_results.values())


def test_a_slow_step_runs_on_a_worker_while_quick_ones_run_here(project):
    spans: dict[int, tuple[str, float, float]] = {}

    def body(i):
        start = time.monotonic()
        if i == 0:
            time.sleep(0.5)
        spans[i] = (threading.current_thread().name, start, time.monotonic())
        return i

    pipeline = _fan_out("s", 20, body)
    assert pipeline.run("local").success

    def quick_here():
        return {spans[i][0] for i in range(1, 20)} == {MAIN}

    _runs_until(pipeline, quick_here, spans.clear)
    slow_thread, slow_start, slow_end = spans[0]
    assert slow_thread != MAIN
    quick = [spans[i] for i in range(1, 20)]
    # The quick steps did not wait for the slow one: they ran while it slept.
    assert all(slow_start <= start and end <= slow_end for _, start, end in quick)


def test_quick_steps_that_wait_for_each_other_do_not_deadlock(project):
    """A step that was quick blocks this time until the others run: the watcher hands
    them to the workers instead of leaving them behind the blocked one."""
    barrier: list[threading.Barrier] = []
    threads: dict[int, str] = {}

    def body(i):
        threads[i] = threading.current_thread().name
        if barrier:
            barrier[0].wait()
        return i

    pipeline = _fan_out("b", 4, body)
    _runs_until(pipeline, lambda: set(threads.values()) == {MAIN}, threads.clear)
    barrier.append(threading.Barrier(4, timeout=20))
    started = time.monotonic()
    run = pipeline.run("local")
    assert run.success, run.error
    assert time.monotonic() - started < 5
    assert threads[0] == MAIN and {threads[i] for i in (1, 2, 3)} != {MAIN}


def test_a_quick_step_that_turned_slow_goes_to_a_worker_the_next_time(project):
    threads: dict[int, str] = {}
    slow = threading.Event()

    def body(i):
        threads[i] = threading.current_thread().name
        if slow.is_set() and i == 0:
            time.sleep(0.05)
        return i

    pipeline = _fan_out("t", 5, body)
    _runs_until(pipeline, lambda: threads[0] == MAIN)
    slow.set()
    pipeline.run("local")  # mispredicted once: run here, measured slow
    assert pipeline.run("local").success
    assert threads[0] != MAIN


def test_cached_executions_do_not_make_a_step_quick(project):
    """A cache hit costs nothing, whatever the step costs to run: steps that ran slowly
    stay on the workers when they run again."""
    threads: dict[int, str] = {}

    def make(i):
        def work():
            threads[i] = threading.current_thread().name
            time.sleep(0.05)
            return i

        return step(name=f"c{i}", outputs=[f"c_o{i}"])(work)

    pipeline = Pipeline("cached", steps=[make(i) for i in range(4)])
    assert pipeline.run("local").success  # runs and fills the cache
    run = pipeline.run("local")
    assert all(r.cached for r in run.step_results.values())
    threads.clear()
    started = time.monotonic()
    assert pipeline.run("local", cache=False).success
    assert MAIN not in threads.values()
    assert time.monotonic() - started < 0.15  # 4 x 0.05 s in parallel, not one after another
