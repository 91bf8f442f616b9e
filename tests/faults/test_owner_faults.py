"""The process that owns a run is interrupted, terminated or killed while steps run."""

from __future__ import annotations

import signal
import time

import pytest
from cli_process import only_run
from conftest import PIPELINES, assert_artifacts_load, assert_no_step_left
from polling import wait_for


def _start_hanging(cli, backend, pids):
    process = cli.start("run", f"{PIPELINES}:hanging", "--backend", backend)
    wait_for(
        lambda: (pids / "wait_one").exists() and (pids / "wait_two").exists(),
        60,
        "both steps to start",
    )
    return process


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_stopping_signal_cancels_the_run_at_once_and_leaves_nothing_running(
    signum, backend, cli, project, pids
):
    process = _start_hanging(cli, backend, pids)
    process.send_signal(signum)
    sent = time.monotonic()
    out, err = process.communicate(timeout=30)
    waited = time.monotonic() - sent
    assert process.returncode == 128 + signum, err
    assert waited < 5, f"the CLI took {waited:.1f} s to stop; the steps sleep 120 s"
    assert "cancelled" in out and f"interrupted by {signal.Signals(signum).name}" in err
    record = only_run(project)
    assert record.status.value == "cancelled"
    assert {s.step: s.status.value for s in record.steps} == {
        "wait_one": "cancelled",
        "wait_two": "cancelled",
    }
    assert all("interrupted" in (s.error or "") for s in record.steps)
    assert_no_step_left(pids)


def test_sigkill_of_the_owner_leaves_a_crashed_run_and_no_step_running(backend, cli, project, pids):
    process = _start_hanging(cli, backend, pids)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    listed = cli.run("runs", "list")
    assert "crashed" in listed.stdout, listed.stdout
    record = only_run(project)
    assert record.status.value == "crashed"
    assert f"pid {process.pid}" in (record.error or "")
    assert all(s.status.value == "crashed" for s in record.steps), record.steps
    assert_no_step_left(pids)
    assert_artifacts_load(record)


def test_ctrl_c_in_an_in_process_step_running_on_the_main_thread_stops_the_run(cli, project, pids):
    process = cli.start("run", f"{PIPELINES}:faulty", "--backend", "local", "-p", "fault=hang")
    wait_for(lambda: (pids / "misbehave").exists(), 60, "the step to start")
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    record = only_run(project)
    statuses = {s.step: s.status.value for s in record.steps}
    assert record.status.value == "cancelled"
    assert statuses == {"produce": "success", "misbehave": "cancelled"}
