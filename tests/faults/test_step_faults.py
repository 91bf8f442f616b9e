"""A step that fails in any way: what is recorded, what the user sees, what is left running.

Each case runs the pipeline through the CLI in a fresh process, as a user does, then
reads the run store from another process.
"""

from __future__ import annotations

import pytest
from cli_process import only_run
from conftest import alive, assert_artifacts_load, assert_no_step_left

# fault -> (error text of the failed step on every backend that survives it)
SURVIVABLE = {
    "raise": "RuntimeError: the step broke",
    "exit0": "called sys.exit(0)",
    "exit3": "called sys.exit(3)",
    "keyboard": "raised KeyboardInterrupt itself",
}
# fault -> (what kills an in-process run, error text on the subprocess backend)
FATAL_IN_PROCESS = {
    "os_exit": (7, "code 7"),
    "segfault": (-11, "SIGSEGV"),
    "sigkill": (-9, "SIGKILL"),
}


@pytest.mark.parametrize("fault", sorted(SURVIVABLE))
def test_a_failing_step_fails_the_run_and_the_cli_exits_1(fault, backend, cli, project, pids):
    done = cli.run_pipeline("faulty", backend, f"fault={fault}")
    assert done.returncode == 1, done.stderr
    assert "failed" in done.stdout
    record = only_run(project)
    statuses = {s.step: s.status.value for s in record.steps}
    assert record.status.value == "failed"
    assert statuses == {"produce": "success", "misbehave": "failed"}
    failed = next(s for s in record.steps if s.step == "misbehave")
    assert SURVIVABLE[fault] in (failed.error or "")
    assert "misbehave" in record.error
    assert_no_step_left(pids)
    assert_artifacts_load(record)


@pytest.mark.parametrize("fault", sorted(FATAL_IN_PROCESS))
def test_a_step_that_kills_its_process_is_a_failed_step_when_isolated(fault, cli, project, pids):
    done = cli.run_pipeline("faulty", "subprocess", f"fault={fault}")
    assert done.returncode == 1, done.stderr
    record = only_run(project)
    assert record.status.value == "failed"
    failed = next(s for s in record.steps if s.step == "misbehave")
    assert failed.status.value == "failed"
    assert FATAL_IN_PROCESS[fault][1] in (failed.error or ""), failed.error
    assert_no_step_left(pids)
    assert_artifacts_load(record)


@pytest.mark.parametrize("fault", sorted(FATAL_IN_PROCESS))
def test_a_step_that_kills_the_process_owning_an_in_process_run_leaves_it_crashed(
    fault, cli, project, pids
):
    done = cli.run_pipeline("faulty", "local", f"fault={fault}")
    assert done.returncode == FATAL_IN_PROCESS[fault][0], done.stderr
    listed = cli.run("runs", "list")  # a new process reads the store and accounts for the run
    assert "crashed" in listed.stdout, listed.stdout
    record = only_run(project)
    assert record.status.value == "crashed"
    assert "is gone" in (record.error or "")
    assert all(s.status.value in ("success", "crashed") for s in record.steps), record.steps
    assert_artifacts_load(record)
    # Whatever the crash cut between an artifact's write and its records, the next run
    # reuses only what was fully recorded and computes the right result.
    again = cli.run_pipeline("faulty", "local", "fault=none")
    assert again.returncode == 0, again.stderr
    assert "c:\n20" in again.stdout


def test_a_step_over_its_timeout_fails_and_its_process_is_killed(backend, cli, project, pids):
    done = cli.run_pipeline("timeout", backend)
    assert done.returncode == 1, done.stderr
    record = only_run(project)
    (overrun,) = record.steps
    assert record.status.value == "failed" and overrun.status.value == "failed"
    assert "timeout" in (overrun.error or "")
    if backend == "subprocess":
        pid = int((pids / "overrun").read_text())
        assert not alive(pid)
    assert_no_step_left(pids)


def test_a_step_process_killed_from_outside_is_a_failed_step_naming_the_signal(cli, project, pids):
    import os
    import signal

    from conftest import PIPELINES, wait_for

    process = cli.start(
        "run", f"{PIPELINES}:faulty", "--backend", "subprocess", "--quiet", "-p", "fault=hang"
    )
    pid = int(wait_for(lambda: (pids / "misbehave").exists() and (pids / "misbehave").read_text()))
    os.kill(pid, signal.SIGKILL)  # as the kernel's OOM killer or an operator would
    _, err = process.communicate(timeout=60)
    assert process.returncode == 1, err
    record = only_run(project)
    failed = next(s for s in record.steps if s.step == "misbehave")
    assert record.status.value == "failed" and failed.status.value == "failed"
    assert "SIGKILL" in (failed.error or ""), failed.error
    assert_no_step_left(pids)
