"""Run-event hooks on `local` and `subprocess`, seen through the `flowyml-audit` fixture plugin."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from flowyml_audit.plugin import order_problems, read_events

from flowyml import hookimpl
from flowyml.plugins.manager import get_plugin_manager

BACKENDS = ["local", "subprocess"]

# One step at a time and no cache: the order of events is the same on every run.
STACKS = textwrap.dedent(
    """
    stacks:
      local:
        backend: local
        cache: false
        settings: {max_workers: 1}
      subprocess:
        backend: subprocess
        cache: false
        settings: {max_workers: 1}
    """
)

# A module of its own, so that `subprocess` can import the steps in its children.
PIPELINES = textwrap.dedent(
    """
    import os
    import time
    from pathlib import Path

    from flowyml import Context, Pipeline, step

    @step(outputs=["numbers"])
    def produce():
        return [1, 2, 3]

    @step(inputs=["numbers"], outputs=["many"], condition=lambda numbers: len(numbers) > 10)
    def only_for_many(numbers):
        return numbers

    @step(inputs=["numbers"], outputs=["never"])
    def explode(numbers):
        raise ValueError("boom")

    @step(inputs=["never"], outputs=["after"])
    def after(never):
        return never

    mixed = Pipeline("mixed", steps=[produce, only_for_many, explode, after])

    @step(inputs=["numbers"], outputs=["total"])
    def add_up(numbers, fail: bool):
        if fail:
            raise RuntimeError("asked to fail")
        return sum(numbers)

    resumable = Pipeline("resumable", steps=[produce, add_up], context=Context(fail=True))

    @step(inputs=["numbers"], outputs=["slept"])
    def hang(numbers, marker: str):
        Path(marker).write_text(str(os.getpid()))
        time.sleep(120)
        return 0

    hanging = Pipeline("hanging", steps=[produce, hang], context=Context(marker="hang.started"))

    if __name__ == "__main__":
        import sys

        hanging.run(sys.argv[1], echo_logs=False)
    """
)

MIXED_EVENTS = [
    ("run_started", None, None),
    ("step_started", "produce", None),
    ("step_finished", "produce", "success"),
    ("step_started", "only_for_many", None),
    ("step_finished", "only_for_many", "skipped"),
    ("step_started", "explode", None),
    ("step_finished", "explode", "failed"),
    ("run_finished", None, "failed"),
]


@pytest.fixture
def audit(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The audit plugin's file, in a project with the pipelines module and one-worker stacks."""
    (project / "flowyml.yaml").write_text(STACKS)
    (project / "event_pipelines.py").write_text(PIPELINES)
    monkeypatch.syspath_prepend(str(project))
    sys.modules.pop("event_pipelines", None)
    path = project / "audit.jsonl"
    monkeypatch.setenv("FLOWYML_AUDIT_FILE", str(path))
    return path


def pipelines() -> Any:
    import event_pipelines

    return event_pipelines


def sequence(events: list[dict[str, Any]]) -> list[tuple[str, str | None, str | None]]:
    """Each event's type, step and status."""
    return [(e["event"], e.get("step"), e.get("status")) for e in events]


def test_local_and_subprocess_report_the_same_events_in_order(audit):
    seen = {}
    for backend in BACKENDS:
        run = pipelines().mixed.run(backend, echo_logs=False)
        assert not run.success and run.not_run == ["after"]
        events = read_events(audit, run.run_id)
        assert not order_problems(events)
        assert {e["pid"] for e in events} == {os.getpid()}  # the process that owns the run
        assert events[0]["backend"] == backend and events[0]["pipeline"] == "mixed"
        assert events[0]["steps"] == ["produce", "only_for_many", "explode", "after"]
        seen[backend] = sequence(events)
    assert seen["local"] == seen["subprocess"] == MIXED_EVENTS


def test_steps_reused_by_a_resume_still_start_before_they_finish(audit):
    failed = pipelines().resumable.run("local", echo_logs=False)
    assert not failed.success
    resumed = pipelines().resumable.run(
        "local", context={"fail": False}, resume=failed.run_id, echo_logs=False
    )
    assert resumed.success, resumed.error
    events = read_events(audit, resumed.run_id)
    assert not order_problems(events)
    assert [(e, s) for e, s, _ in sequence(events)] == [
        ("run_started", None),
        ("step_started", "produce"),
        ("step_finished", "produce"),
        ("step_started", "add_up"),
        ("step_finished", "add_up"),
        ("run_finished", None),
    ]
    assert events[-1]["status"] == "success"


@pytest.mark.parametrize("backend", BACKENDS)
def test_ctrl_c_still_ends_the_events_with_the_run_finished_cancelled(audit, project, backend):
    process = subprocess.Popen(
        [sys.executable, "event_pipelines.py", backend],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # the signal reaches this process only
    )
    try:
        deadline = time.monotonic() + 60
        while not (project / "hang.started").exists():
            assert time.monotonic() < deadline, "the hanging step never started"
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode != 0, err
    events = read_events(audit)
    assert not order_problems(events)
    assert {e["pid"] for e in events} == {process.pid}
    assert sequence(events)[-3:] == [
        ("step_started", "hang", None),
        ("step_finished", "hang", "cancelled"),
        ("run_finished", None, "cancelled"),
    ]


class Raising:
    """A plugin whose step hooks always raise; registered by the tests like a third party's."""

    def __init__(self) -> None:
        self.finished: list[str] = []

    @hookimpl
    def flowyml_step_started(self, step_name: str) -> None:
        raise RuntimeError(f"cannot start {step_name}")

    @hookimpl
    def flowyml_step_finished(self, result: Any) -> None:
        self.finished.append(result.step_name)
        raise ValueError("the audit database is down\nsecond line")


def test_a_raising_hook_is_reported_once_and_the_run_still_succeeds(audit, caplog):
    from flowyml import Pipeline, step

    @step(outputs=["a"])
    def one():
        return 1

    @step(inputs=["a"], outputs=["b"])
    def two(a):
        return a + 1

    @step(inputs=["b"], outputs=["c"])
    def three(b):
        return b + 1

    raising = Raising()
    get_plugin_manager().register(raising, "raising", distribution="flowyml-raising")
    with caplog.at_level(logging.WARNING, logger="flowyml"):
        run = Pipeline("raising", steps=[one, two, three]).run("local", echo_logs=False)
    assert run.success and run.outputs["c"] == 3
    assert raising.finished == ["one", "two", "three"]  # called for every step all the same
    reports = [r.getMessage() for r in caplog.records if "raised in flowyml_" in r.getMessage()]
    assert len(reports) == 2, reports  # one per plugin and hook, not one per step
    finished = next(m for m in reports if "flowyml_step_finished" in m)
    assert "plugin 'raising' from distribution 'flowyml-raising'" in finished
    assert f"run {run.run_id}" in finished
    assert finished.endswith("ValueError: the audit database is down")
    # The other plugins still received every event.
    assert sequence(read_events(audit, run.run_id))[-2:] == [
        ("step_finished", "three", "success"),
        ("run_finished", None, "success"),
    ]


def test_a_raising_hook_prints_one_line_on_stderr(project):
    script = project / "raising.py"
    script.write_text(
        textwrap.dedent(
            """
            from flowyml import Pipeline, hookimpl, step
            from flowyml.plugins.manager import get_plugin_manager

            class Raising:
                @hookimpl
                def flowyml_step_finished(self, result):
                    raise ValueError("down")

            @step(outputs=["a"])
            def one():
                return 1

            @step(inputs=["a"], outputs=["b"])
            def two(a):
                return a + 1

            get_plugin_manager().register(Raising(), "raising")
            if __name__ == "__main__":
                assert Pipeline("raising", steps=[one, two]).run("local").success
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)], cwd=project, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert len([line for line in lines if "raised in flowyml_step_finished" in line]) == 1
    assert not [line for line in lines if "Traceback" in line]


def test_without_run_event_hooks_the_callers_listener_is_handed_down_unchanged(project):
    from flowyml.execution.run_events import RUN_EVENT_HOOKS, RunEvents
    from flowyml.records.listener import RunListener

    manager = get_plugin_manager()
    for hook in RUN_EVENT_HOOKS:
        for impl in manager.implementations(hook):
            manager._pm.unregister(name=impl.plugin)  # the audit fixture, when installed
    listener = RunListener()
    assert RunEvents(listener).listener is listener
    assert RunEvents(None).listener is None


def test_a_run_its_backend_never_reported_is_told_to_the_plugins_when_it_ends(audit):
    from flowyml import ExecutionResult, ExecutionStatus, PipelineRun
    from flowyml.execution.run_events import RunEvents

    # What a remote orchestrator that ignores its listener hands back: results only.
    run = PipelineRun(
        run_id="silent-1",
        pipeline_name="silent",
        backend="elsewhere",
        status=ExecutionStatus.FAILED,
        step_results={
            "load": ExecutionResult(step_name="load", success=True),
            "train": ExecutionResult(step_name="train", success=False, error="boom"),
        },
        not_run=["report"],
    )
    with RunEvents(None) as events:
        events.ended(run)
    events_seen = read_events(audit, "silent-1")
    assert not order_problems(events_seen)
    assert events_seen[0]["steps"] == ["load", "train", "report"]
    assert events_seen[0]["backend"] == "elsewhere"
    assert sequence(events_seen) == [
        ("run_started", None, None),
        ("step_started", "load", None),
        ("step_finished", "load", "success"),
        ("step_started", "train", None),
        ("step_finished", "train", "failed"),
        ("run_finished", None, "failed"),
    ]
