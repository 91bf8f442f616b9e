"""Faults on `docker`: what `flowyml run` shows, what the run store records, no container left.

The cases of the README's "When things go wrong" table, on the docker backend: a step
that raises, exits, crashes, is killed from outside or overruns its timeout, and the
`flowyml run` that owns the run interrupted, terminated or killed.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from cli_process import FlowymlCli, only_run
from docker_harness import PROJECT, hanging_container
from polling import wait_for

pytestmark = pytest.mark.docker

FAULTY = f"{PROJECT / 'pipelines.py'}:faulty"
OVERRUNNING = f"{PROJECT / 'pipelines.py'}:overrunning"
STOPPING = [signal.SIGINT, signal.SIGTERM]


@pytest.fixture
def cli(docker_project: Any) -> Iterator[FlowymlCli]:
    """The CLI; a test that fails midway leaves none of its processes running."""
    runner = FlowymlCli()
    yield runner
    runner.stop_all()


def statuses(record: Any) -> dict[str, str]:
    return {s.step: s.status.value for s in record.steps}


def step(record: Any, name: str) -> Any:
    return next(s for s in record.steps if s.step == name)


def start_hanging(cli: FlowymlCli, client: Any) -> tuple[subprocess.Popen[str], Any]:
    """`flowyml run` of a step that hangs, once the step runs in its container."""
    process = cli.start("run", FAULTY, "--backend", "docker", "-p", "fault=hang")
    container = wait_for(lambda: hanging_container(client), 120, "the hanging step")
    return process, container


def assert_no_container_of(client: Any, run_id: str, within: float = 0.0) -> None:
    """No container of the run exists (``within`` seconds from now)."""
    from flowyml_docker.engine import managed_containers

    if within:
        wait_for(lambda: not managed_containers(client, run_id), within, f"{run_id}'s containers")
    assert not managed_containers(client, run_id)


@pytest.mark.parametrize(
    ("fault", "error", "exit_code"),
    [
        ("raise", "RuntimeError: the step broke inside its container", 1),
        ("exit0", "step 'misbehave' called sys.exit(0)", 1),
        ("exit3", "step 'misbehave' called sys.exit(3)", 1),
        ("os_exit", "step 'misbehave' crashed: process exited with code 7", 7),
        ("segfault", "step 'misbehave' crashed: process killed by SIGSEGV (exit code 139)", 139),
    ],
)
def test_a_step_that_fails_in_its_container_fails_the_run_with_its_error(
    fault, error, exit_code, cli, docker_client
):
    done = cli.run("run", FAULTY, "--backend", "docker", "-q", "-p", f"fault={fault}")
    record = only_run()
    assert done.returncode == 1, done.stderr
    assert f"run {record.run_id} failed" in done.stdout
    assert error[:60] in done.stdout  # the summary's error column
    assert record.status.value == "failed"
    assert statuses(record) == {"give": "success", "misbehave": "failed"}
    failed = step(record, "misbehave")
    assert error in failed.error
    assert failed.exit_code == exit_code
    assert record.error == f"step 'misbehave' failed: {failed.error}"
    assert_no_container_of(docker_client, record.run_id)


def test_a_step_whose_container_is_killed_from_outside_fails_naming_sigkill(cli, docker_client):
    process, container = start_hanging(cli, docker_client)
    container.kill()  # what `docker kill` asks of the engine
    out, err = process.communicate(timeout=60)
    record = only_run()
    assert process.returncode == 1, err
    assert f"run {record.run_id} failed" in out
    assert record.status.value == "failed"
    assert statuses(record) == {"give": "success", "misbehave": "failed"}
    failed = step(record, "misbehave")
    assert "step 'misbehave' crashed: process killed by SIGKILL (exit code 137)" in failed.error
    assert failed.exit_code == 137
    assert_no_container_of(docker_client, record.run_id)


def test_a_step_past_its_timeout_is_stopped_and_fails_the_run(cli, docker_client):
    started = time.monotonic()
    done = cli.run("run", OVERRUNNING, "--backend", "docker", "-q")
    took = time.monotonic() - started
    record = only_run()
    assert done.returncode == 1, done.stderr
    assert took < 60, f"the run took {took:.0f} s; its step sleeps 120 s past a 1 s timeout"
    assert record.status.value == "failed"
    assert statuses(record) == {"overrun": "failed"}
    expected = "step 'overrun' exceeded its timeout of 1 s and was killed"
    assert step(record, "overrun").error == expected
    assert_no_container_of(docker_client, record.run_id)


@pytest.mark.parametrize("signum", STOPPING, ids=lambda s: signal.Signals(s).name)
def test_sigint_or_sigterm_of_the_owner_cancels_the_run_and_removes_its_containers(
    signum, cli, docker_client
):
    process, _ = start_hanging(cli, docker_client)
    process.send_signal(signum)
    sent = time.monotonic()
    out, err = process.communicate(timeout=60)
    waited = time.monotonic() - sent
    record = only_run()
    assert process.returncode == 128 + signum, err
    assert waited < 5, f"the CLI took {waited:.1f} s to stop; the step sleeps 120 s"
    assert f"run {record.run_id} cancelled" in out
    assert f"run interrupted by {signal.Signals(signum).name}" in err
    assert record.status.value == "cancelled"
    assert statuses(record)["give"] == "success"
    assert "stopped" in step(record, "misbehave").error
    assert_no_container_of(docker_client, record.run_id, within=5)


@pytest.mark.parametrize("signum", STOPPING, ids=lambda s: signal.Signals(s).name)
def test_sigint_or_sigterm_of_the_owner_records_the_running_step_cancelled(
    signum, cli, docker_client
):
    process, _ = start_hanging(cli, docker_client)
    process.send_signal(signum)
    process.communicate(timeout=60)
    record = only_run()
    assert_no_container_of(docker_client, record.run_id, within=5)
    assert statuses(record) == {"give": "success", "misbehave": "cancelled"}


def test_sigkill_of_the_owner_leaves_a_crashed_run_whose_containers_the_next_reader_removes(
    cli, docker_client
):
    from flowyml_docker.engine import managed_containers

    process, container = start_hanging(cli, docker_client)
    run_id = container.labels["flowyml.run_id"]
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    # Nobody stops the step's container: it sleeps on until a reader finds the run crashed.
    assert managed_containers(docker_client, run_id)
    listed = cli.run("runs", "list")
    assert listed.returncode == 0, listed.stderr
    gone = f"the process that owned this run (pid {process.pid} on host"
    assert f"{run_id} crashed: {gone}" in listed.stdout, listed.stdout
    assert not managed_containers(docker_client, run_id)
    record = only_run()
    assert record.status.value == "crashed"
    assert statuses(record) == {"give": "success", "misbehave": "crashed"}
    assert gone in step(record, "misbehave").error
