"""The fork server imports the pipeline's module once, and never runs stale code."""

from __future__ import annotations

import importlib
import itertools
import os
import sys
import textwrap
import time
from pathlib import Path

import pytest

_names = itertools.count()

CHAIN = """
import os
{imports}
from flowyml import Pipeline, step

IMPORTED_IN = os.getpid()


def make(i):
    def body(prev=None):
        return (prev or 0) + 1

    return step(name=f"s{{i}}", inputs=[f"a{{i - 1}}"] if i else [], outputs=[f"a{{i}}"],
                cache=False)(body)


for i in range({n}):
    globals()[f"s{{i}}"] = make(i)
pipeline = Pipeline("chain", steps=[globals()[f"s{{i}}"] for i in range({n})])
"""

ANSWER = """
import os
from flowyml import Pipeline, step

IMPORTED_IN = os.getpid()


@step(outputs=["answer", "imported_in", "ran_in"], cache=False)
def answer():
    return {value!r}, IMPORTED_IN, os.getpid()


pipeline = Pipeline("answer", steps=[answer])
"""


@pytest.fixture
def load(project, monkeypatch):
    """Writes a pipeline module into the project and imports it, under a fresh name."""
    monkeypatch.syspath_prepend(str(project))
    loaded: list[str] = []

    def write_and_import(source: str):
        name = f"preloaded_{os.getpid()}_{next(_names)}"
        (project / f"{name}.py").write_text(textwrap.dedent(source))
        loaded.append(name)
        return importlib.import_module(name)

    yield write_and_import
    for name in loaded:
        sys.modules.pop(name, None)


def _rewrite(module, source: str) -> None:
    Path(module.__file__).write_text(textwrap.dedent(source))


def _servers() -> dict[int, list[int]]:
    """This process's fork servers, each with the pids of its children."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                command = handle.read()
        except OSError:  # it ended meanwhile
            continue
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry))
            if int(fields[1]) == os.getpid() and b"flowyml_local.fork_server" in command:
                children.setdefault(-1, []).append(int(entry))
    return {pid: children.get(pid, []) for pid in children.get(-1, [])}


def test_a_step_runs_the_module_the_server_imported_before_forking(project, load):
    module = load(ANSWER.format(value="x"))
    run = module.pipeline.run("subprocess", echo_logs=False)
    assert run.success, run.error
    assert run.outputs["answer"] == "x"
    assert run.outputs["imported_in"] != run.outputs["ran_in"]  # inherited, not imported


HEAVY = """
import os
import numpy
from flowyml import Pipeline, step

IMPORTED_IN = os.getpid()


def make(i):
    def body():
        return IMPORTED_IN, os.getpid()

    return step(name=f"h{{i}}", outputs=[f"h{{i}}"], cache=False)(body)


for i in range({n}):
    globals()[f"h{{i}}"] = make(i)
pipeline = Pipeline("heavy", steps=[globals()[f"h{{i}}"] for i in range({n})])
"""


def test_a_numpy_importing_module_is_imported_once_for_all_its_steps(project, load):
    # What it costs is measured in bench/bench_local.py (--only preload); here, that each
    # step's process inherits the module (and numpy) from one import, not one per step.
    pytest.importorskip("numpy")
    module = load(HEAVY.format(n=8))
    run = module.pipeline.run("subprocess", echo_logs=False)
    assert run.success, run.error
    pairs = [run.outputs[f"h{i}"] for i in range(8)]  # (importing pid, running pid)
    importers = {importer for importer, _ in pairs}
    runners = {runner for _, runner in pairs}
    assert len(importers) == 1, pairs  # one import, in the fork server
    assert len(runners) == 8 and not importers & runners, pairs  # eight forked steps


def test_an_edit_between_two_runs_in_one_process_runs_the_new_code(project, load):
    module = load(ANSWER.format(value="first"))
    assert module.pipeline.run("subprocess", echo_logs=False).outputs["answer"] == "first"
    _rewrite(module, ANSWER.format(value="the second version"))
    assert (
        module.pipeline.run("subprocess", echo_logs=False).outputs["answer"] == "the second version"
    )


def test_an_edit_to_a_helper_module_it_imports_runs_the_new_code(project, load):
    helper = load("VALUE = 'old'\n")
    module = load(ANSWER.format(value="").replace("''", f"__import__({helper.__name__!r}).VALUE"))
    assert module.pipeline.run("subprocess", echo_logs=False).outputs["answer"] == "old"
    _rewrite(helper, "VALUE = 'the new value'\n")
    assert module.pipeline.run("subprocess", echo_logs=False).outputs["answer"] == "the new value"


def test_pipelines_of_two_modules_in_one_process_each_run_their_own_code(project, load):
    first = load(ANSWER.format(value="from the first"))
    second = load(ANSWER.format(value="from the second"))
    for module, value in ((first, "from the first"), (second, "from the second")) * 2:
        assert module.pipeline.run("subprocess", echo_logs=False).outputs["answer"] == value


def test_a_module_that_fails_to_import_fails_its_step_naming_the_module(project, load):
    module = load(ANSWER.format(value="fine"))
    _rewrite(module, ANSWER.format(value="fine") + "\n1 / 0\n")
    run = module.pipeline.run("subprocess", echo_logs=False)
    error = run.step_results["answer"].error
    assert not run.success
    assert f"could not import its module {module.__name__}" in error
    assert "ZeroDivisionError: division by zero" in error
    assert "1 / 0" in run.step_results["answer"].logs  # the traceback, in the step's log


def test_a_module_running_its_pipeline_at_import_fails_instead_of_recursing(project, load):
    module = load(ANSWER.format(value="fine"))
    _rewrite(module, ANSWER.format(value="fine") + '\npipeline.run("subprocess")\n')
    run = module.pipeline.run("subprocess", echo_logs=False)
    assert not run.success
    assert 'guard the call with `if __name__ == "__main__":`' in run.step_results["answer"].error


def test_nothing_is_left_running_but_one_server_after_runs(project, load):
    before = set(_servers())
    first = load(ANSWER.format(value="one"))
    second = load(ANSWER.format(value="two"))
    for module in (first, second, first):
        assert module.pipeline.run("subprocess", echo_logs=False).success
    _rewrite(first, ANSWER.format(value="three"))
    assert first.pipeline.run("subprocess", echo_logs=False).outputs["answer"] == "three"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        servers = _servers()
        started = set(servers) - before
        if len(started) <= 1 and not any(servers.values()):
            break
        time.sleep(0.05)
    assert len(started) <= 1, servers  # four servers were started: three were closed
    assert not any(servers.values()), servers  # no step process outlives its run


DRAWS = """
import numpy.random  # imported with the module, so the server holds its generator
from flowyml import Pipeline, step


def make(i):
    def draw():
        return float(numpy.random.random())

    return step(name=f"d{i}", outputs=[f"x{i}"], cache=False)(draw)


for i in range(4):
    globals()[f"d{i}"] = make(i)
pipeline = Pipeline("draws", steps=[globals()[f"d{i}"] for i in range(4)])
"""


def test_steps_forked_from_one_server_draw_different_random_numbers(project, load):
    # A fresh interpreter seeds numpy's global generator from the OS: forked children of
    # a server that imported numpy must not all start from the server's state.
    pytest.importorskip("numpy")
    module = load(DRAWS)
    run = module.pipeline.run("subprocess", echo_logs=False)
    assert run.success, run.error
    draws = [run.outputs[f"x{i}"] for i in range(4)]
    assert len(set(draws)) == 4, draws
