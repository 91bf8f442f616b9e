"""What ``flowyml run`` shows while a run goes on: step output, plain lines, the terminal."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import textwrap

import pytest
import sample_steps
from rich.console import Console

from flowyml import Pipeline, step
from flowyml.cli.progress import ProgressDisplay
from flowyml.records.listener import RunListener
from flowyml.records.results import ExecutionResult

BACKENDS = ["local", "forked", "spawned"]  # subprocess with each start method

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture
def script(project):
    (project / "flowyml.yaml").write_text(
        textwrap.dedent("""
        stacks:
          forked: {backend: subprocess, settings: {start_method: fork-server}}
          spawned: {backend: subprocess, settings: {start_method: spawn}}
          chatty: {backend: local, settings: {echo_logs: true}}
          silent: {backend: local, settings: {echo_logs: false}}
        """)
    )
    (project / "pipe.py").write_text(
        textwrap.dedent("""
        import sys
        from flowyml import Context, Pipeline, step

        @step(outputs=["data"])
        def load(n: int):
            print("loading", n)
            print("warming", end="")
            print(" up", file=sys.stderr)
            return list(range(n))

        @step(inputs=["data"], outputs=["total"])
        def total(data):
            print("adding", len(data))
            return sum(data)

        pipeline = Pipeline("progress-demo", steps=[load, total], context=Context(n=5))
        """)
    )
    return project / "pipe.py"


def flowyml(*args: str, cwd) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "flowyml", *args, "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done


def _position(lines: list[str], start: str) -> int:
    return next(i for i, line in enumerate(lines) if line.startswith(start))


# -- flowyml run, on a pipe -----------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_logs_shows_each_line_a_step_prints_between_its_start_and_its_end(script, project, backend):
    done = flowyml("run", "pipe.py", "--logs", "--backend", backend, cwd=project)
    lines = done.stderr.splitlines()
    expected = [
        "  … load started",
        "[load] loading 5",
        "[load] warming up",
        "  ✓ load success",
        "  … total started",
        "[total] adding 5",
        "  ✓ total success",
    ]
    positions = [_position(lines, start) for start in expected]
    assert positions == sorted(positions), done.stderr
    assert "loading" not in done.stdout  # the summary stays apart


@pytest.mark.parametrize("backend", BACKENDS)
def test_without_logs_nothing_a_step_prints_is_shown(script, project, backend):
    done = flowyml("run", "pipe.py", "--backend", backend, cwd=project)
    assert "✓ total success" in done.stderr
    for text in ("loading", "warming", "adding"):
        assert text not in done.stderr and text not in done.stdout


def test_the_plain_display_has_one_line_per_event_and_no_control_codes(script, project):
    done = flowyml("run", "pipe.py", "--logs", cwd=project)
    assert "\x1b" not in done.stderr and "\r" not in done.stderr
    assert done.stderr.splitlines()[0].endswith(": pipeline 'progress-demo' on 'local', 2 steps")


def test_the_echo_logs_setting_shows_step_output_unless_the_command_says_otherwise(script, project):
    assert "[load] loading 5" in flowyml("run", "pipe.py", "-b", "chatty", cwd=project).stderr
    hidden = flowyml("run", "pipe.py", "-b", "chatty", "--no-logs", cwd=project)
    assert "loading" not in hidden.stderr
    shown = flowyml("run", "pipe.py", "-b", "silent", "--logs", cwd=project)
    assert "[load] loading 5" in shown.stderr


def test_quiet_with_logs_shows_only_what_steps_print(script, project):
    done = flowyml("run", "pipe.py", "--quiet", "--logs", cwd=project)
    assert done.stderr.splitlines() == ["[load] loading 5", "[load] warming up", "[total] adding 5"]


# -- Pipeline.run -----------------------------------------------------------------------------
@step(outputs=["said"])
def talk() -> int:
    print("half", end="")
    print(" a line")
    sys.stdout.write("one\ntwo\n")
    return 1


class Recorder(RunListener):
    def __init__(self) -> None:
        self.events: list[tuple[str, ...]] = []

    def step_started(self, step_name: str) -> None:
        self.events.append(("start", step_name))

    def step_finished(self, result: ExecutionResult) -> None:
        self.events.append(("end", result.step_name))

    def step_output(self, step_name: str, text: str) -> None:
        self.events.append(("output", step_name, text))


def test_pipeline_run_follows_the_echo_logs_setting_unless_told(script, capsys):
    pipeline = Pipeline("talk", steps=[talk])
    for stack, echo, shown in [
        ("silent", None, False),
        ("silent", True, True),
        ("chatty", None, True),
        ("chatty", False, False),
    ]:
        pipeline.run(stack, echo_logs=echo, cache=False)
        out = capsys.readouterr().out
        assert ("half a line\none\ntwo\n" in out) is shown, (stack, echo, out)


def test_a_listener_gets_an_in_process_steps_whole_lines_between_its_start_and_end(project):
    recorder = Recorder()
    Pipeline("talk", steps=[talk]).run("local", echo_logs=True, listener=recorder, cache=False)
    assert recorder.events == [
        ("start", "talk"),
        ("output", "talk", "half a line\n"),
        ("output", "talk", "one\ntwo\n"),
        ("end", "talk"),
    ]


@pytest.mark.parametrize("backend", ["forked", "spawned"])
def test_a_listener_gets_a_child_processes_lines_between_its_start_and_end(script, backend):
    recorder = Recorder()
    run = sample_steps.chain.run(
        backend, context={"n": 7}, echo_logs=True, listener=recorder, cache=False
    )
    assert run.success, run.error
    produce = recorder.events[: recorder.events.index(("end", "produce")) + 1]
    assert produce == [("start", "produce"), ("output", "produce", "producing 7\n"), produce[-1]]


def test_without_echo_a_listener_gets_no_output(project):
    recorder = Recorder()
    Pipeline("talk", steps=[talk]).run("local", echo_logs=False, listener=recorder, cache=False)
    assert [event[0] for event in recorder.events] == ["start", "end"]


# -- the display itself -----------------------------------------------------------------------
def _finished(name: str) -> ExecutionResult:
    return ExecutionResult(step_name=name, success=True, duration_seconds=0.01)


def test_off_a_terminal_each_event_is_one_plain_line():
    stream = io.StringIO()
    display = ProgressDisplay(stream)
    display.run_started("r1", "demo", "local", ["train"])
    display.step_started("train")
    display.step_output("train", "epoch 1 loss 0.3\nepoch 2 loss 0.2\n")
    display.step_finished(_finished("train"))
    display.run_finished("r1", "success")
    assert stream.getvalue() == (
        "run r1: pipeline 'demo' on 'local', 1 steps\n"
        "  … train started\n"
        "[train] epoch 1 loss 0.3\n"
        "[train] epoch 2 loss 0.2\n"
        "  ✓ train success in 10.0ms\n"
    )


def _terminal(width: int = 40, height: int = 8) -> Console:
    return Console(file=io.StringIO(), force_terminal=True, width=width, height=height)


def _written(console: Console) -> str:
    file = console.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()


def test_on_a_terminal_running_steps_that_do_not_fit_collapse_into_a_count():
    console = _terminal(height=8)
    display = ProgressDisplay(console=console)
    names = [f"step_{i:02d}" for i in range(50)]
    display.run_started("r1", "wide", "local", names)
    for name in names[:40]:
        display.step_started(name)
    display.refresh()
    display.close()
    out = _written(console)
    screen = ANSI.sub("", out)
    # 8 rows: 5 running steps, the count, the steps done, and the cursor's line
    assert "… and 35 more running" in screen and "0/50 steps done" in screen
    assert "step_04" in screen and "step_05" not in screen
    # Clearing the region moves the cursor up at most its height: never the whole terminal.
    clears = re.findall(r"(?:\x1b\[1A\x1b\[2K)+", out)
    assert max(len(clear) // len("\x1b[1A\x1b[2K") for clear in clears) < 8


def test_on_a_narrow_terminal_a_long_step_name_is_cut_not_wrapped():
    console = _terminal(width=40)
    display = ProgressDisplay(console=console)
    name = "a_step_whose_name_is_much_wider_than_the_terminal_it_runs_in"
    display.run_started("r1", "narrow", "local", [name])
    display.step_started(name)
    display.refresh()
    display.close()
    screen = ANSI.sub("", _written(console))
    rows = [line.rsplit("\r", 1)[-1] for line in screen.split("\n") if name[:20] in line]
    assert rows and all(len(row) <= 40 and "much…" in row for row in rows), rows


def test_on_a_terminal_each_finished_step_and_output_line_is_printed_once():
    console = _terminal(height=6)
    display = ProgressDisplay(console=console)
    names = [f"step_{i:02d}" for i in range(12)]
    display.run_started("r1", "many", "local", names)
    for name in names:
        display.step_started(name)
    for name in names:
        display.step_output(name, f"hello from {name}\n")
        display.step_finished(_finished(name))
        display.refresh()  # the region is redrawn after every step
    display.run_finished("r1", "success")
    screen = ANSI.sub("", _written(console))
    for name in names:
        assert screen.count(f"✓ {name} success") == 1
        assert screen.count(f"[{name}] hello from {name}") == 1
        assert screen.index(f"[{name}] hello") < screen.index(f"✓ {name} success")
    assert screen.count("pipeline 'many' on 'local'") == 1
