"""The ``subprocess`` backend: isolation, crashes, hard timeouts."""

from __future__ import annotations

import os
import time

import pytest
import sample_steps

from flowyml import Context, Pipeline


@pytest.fixture(params=["fork-server", "spawn"])
def isolated(request, project):
    """The subprocess backend with each start method, as a stack name."""
    (project / "flowyml.yaml").write_text(
        f"stacks:\n  isolated:\n    backend: subprocess\n"
        f"    settings: {{start_method: {request.param}}}\n"
    )
    return "isolated"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as handle:  # a zombie is as good as dead
        return handle.read().split()[2] != "Z"


def test_same_outputs_as_local(project, isolated):
    local = sample_steps.chain.run("local")
    other = sample_steps.chain.run(isolated, context={"n": 10})
    assert other.success, other.error
    assert other.outputs["doubled"] == local.outputs["doubled"] == 90


def test_step_output_is_captured_in_its_result(project, isolated):
    run = sample_steps.chain.run(isolated, context={"n": 7})
    assert "producing 7" in run.step_results["produce"].logs


def test_exception_in_child_keeps_the_traceback(project, isolated):
    run = sample_steps.failing.run(isolated)
    result = run.step_results["explode"]
    assert not run.success and result.error == "ValueError: cannot handle 10 numbers"
    assert "raise ValueError" in result.traceback and result.exit_code == 1


def test_segfault_is_a_failed_result_naming_the_signal(project, isolated):
    run = Pipeline(
        "crash", steps=[sample_steps.produce, sample_steps.segfault], context=Context(n=3)
    ).run(isolated)
    result = run.step_results["segfault"]
    assert not run.success and "SIGSEGV" in result.error and result.exit_code == -11


def test_os_exit_is_a_failed_result_naming_the_code(project, isolated):
    run = Pipeline(
        "exit", steps=[sample_steps.produce, sample_steps.hard_exit], context=Context(n=3)
    ).run(isolated)
    assert "exited with code 3" in run.step_results["hard_exit"].error


def test_hard_timeout_kills_the_whole_process_tree(project, isolated, tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    pipeline = Pipeline(
        "hang",
        steps=[sample_steps.produce, sample_steps.spawn_and_hang],
        context=Context(n=3, pid_file=str(pid_file)),
    )
    start = time.monotonic()
    run = pipeline.run(isolated)
    assert time.monotonic() - start < 30
    assert "exceeded its timeout of 1.0 s" in run.step_results["spawn_and_hang"].error
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(grandchild)


def test_a_group_runs_in_one_process(project, isolated):
    run = sample_steps.grouped.run(isolated)
    assert run.success and run.outputs["c"] == 3


def test_ctrl_c_kills_running_children(project, tmp_path):
    import signal
    import subprocess
    import sys
    import textwrap

    pid_file = tmp_path / "grandchild.pid"
    script = project / "interrupted.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import subprocess, sys, time
            from flowyml import Pipeline, step

            @step(outputs=["x"], cache=False)
            def hang():
                child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
                open({str(pid_file)!r}, "w").write(str(child.pid))
                time.sleep(120)

            pipeline = Pipeline("interrupted", steps=[hang])
            if __name__ == "__main__":
                pipeline.run("subprocess")
            """
        )
    )
    parent = subprocess.Popen([sys.executable, str(script)], cwd=project)
    deadline = time.monotonic() + 60
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    grandchild = int(pid_file.read_text())
    parent.send_signal(signal.SIGINT)
    assert parent.wait(timeout=30) != 0
    deadline = time.monotonic() + 10
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(grandchild)


def test_a_step_another_process_cannot_import_fails_before_any_step_runs(project, isolated):
    from flowyml import PipelineDefinitionError, step
    from flowyml.project.folder import open_project

    def build():
        @step(inputs=["numbers"], outputs=["x"])
        def inner(numbers):
            return len(numbers)

        return inner

    pipeline = Pipeline("nested", steps=[sample_steps.produce, build()])
    with pytest.raises(PipelineDefinitionError, match="step 'inner' is not a module-level"):
        pipeline.run(isolated, context={"n": 3})
    assert open_project().run_store.list_runs() == []  # nothing started, nothing recorded


@pytest.mark.parametrize("backend", ["local", "subprocess"])
def test_a_condition_reading_another_steps_output_runs_after_it(project, backend):
    run = sample_steps.gated.run(backend)
    assert run.success, run.error
    assert run.outputs["published"] == "out"
    assert not run.step_results["publish"].skipped


def test_an_interpreter_that_does_not_exist_is_a_config_error_naming_the_key(project):
    from flowyml import ConfigError

    (project / "flowyml.yaml").write_text(
        "stacks:\n  iso:\n    backend: subprocess\n    settings: {python: /usr/bin/python9}\n"
    )
    with pytest.raises(ConfigError, match=r"'stacks\.iso\.settings\.python'.*/usr/bin/python9"):
        sample_steps.chain.run("iso")
