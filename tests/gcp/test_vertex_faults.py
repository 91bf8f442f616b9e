"""Faults of a vertex_ai run: what is recorded, what the user sees, what is left running.

Each run goes through the CLI in a process of its own, on the project's `vertex` stack
(the loopback servers, reached through flowyml.yaml), as a user runs it; the run store is
then read by a fresh reader, and the fake Vertex AI asked what became of each job and its
container. The last tests cover the ``flowyml_run_crashed`` hook of the gcp plugin.
"""

from __future__ import annotations

import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_process import FlowymlCli, only_run
from fakes.client_calls import job_id_of
from fakes.project import PROJECT
from polling import wait_for
from test_vertex_harness import *  # noqa: F403 - the shared fixtures
from test_vertex_harness import stack_yaml

pytestmark = pytest.mark.gcp

FAULT_PIPELINES = Path(__file__).resolve().parents[1] / "faults" / "fault_pipelines.py"
RUN_FAULTY = ("run", "fault_pipelines.py:faulty", "--backend", "vertex", "--quiet")
STOPPING = [signal.SIGINT, signal.SIGTERM]

# fault -> error text of the failed step
FAILING = {
    "raise": "RuntimeError: the step broke",
    "exit0": "called sys.exit(0)",
    "exit3": "called sys.exit(3)",
    "keyboard": "raised KeyboardInterrupt itself",
}
# fault -> what the failed step's error says of how the job's process ended
FATAL = {
    "os_exit": "process exited with code 7",
    "segfault": "SIGSEGV",
    "sigkill": "SIGKILL",
}


class Cli(FlowymlCli):
    """The CLI in the test project, with shortcuts for the fault pipeline."""

    def run_faulty(self, fault: str) -> subprocess.CompletedProcess[str]:
        return self.run(*RUN_FAULTY, "-p", f"fault={fault}")

    def start_hanging(self) -> subprocess.Popen[str]:
        return self.start(*RUN_FAULTY, "-p", "fault=hang")


@pytest.fixture
def cli(vertex_project: Path) -> Iterator[Cli]:
    """The CLI in the test project, which also holds the fault pipelines; a test that fails
    midway leaves none of its processes behind."""
    shutil.copyfile(FAULT_PIPELINES, vertex_project / "fault_pipelines.py")
    runner = Cli(vertex_project)
    yield runner
    runner.stop_all()


def statuses(record: Any) -> dict[str, str]:
    return {s.step: s.status.value for s in record.steps}


def step_error(record: Any, name: str) -> str:
    return next(s.error or "" for s in record.steps if s.step == name)


def job_states(fake_vertex: Any, run_id: str) -> dict[str, str]:
    """The final state of each job of the run, by group, once every one has ended and its
    container is gone."""
    from flowyml_gcp.job_spec import LABEL_GROUP, LABEL_RUN_ID, label_value

    jobs = [fake_vertex.jobs.snapshot(r) for r in fake_vertex.jobs.records()]
    mine = [job for job in jobs if job.labels.get(LABEL_RUN_ID) == label_value(run_id)]
    ended = {job.labels[LABEL_GROUP]: fake_vertex.wait_for_job(job.name, 30) for job in mine}
    wait_for(lambda: not fake_vertex.launcher.leftovers(), 10, "no job container left")
    return {group: job.state.name for group, job in ended.items()}


def hanging_job(fake_vertex: Any, log_store: Any) -> str:
    """The name of the `misbehave` job, once its step sleeps."""
    from flowyml_gcp.job_spec import LABEL_GROUP

    def sleeping() -> str | None:
        for record in fake_vertex.jobs.records():
            job = fake_vertex.jobs.snapshot(record)
            lines = log_store.texts("job_id", job_id_of(job.name))
            if job.labels.get(LABEL_GROUP) == "misbehave" and "misbehave: hang" in lines:
                return str(job.name)
        return None

    return str(wait_for(sleeping, 120, "the misbehave step to sleep in its job"))


def stop_with(signum: int, cli: Cli, fake_vertex: Any, log_store: Any) -> tuple[Any, str, float]:
    """Start the hanging run and signal its CLI once the step sleeps; the process, its
    output, and how long it took to exit after the signal."""
    process = cli.start_hanging()
    hanging_job(fake_vertex, log_store)
    process.send_signal(signum)
    sent = time.monotonic()
    out, err = process.communicate(timeout=60)
    return process, out + err, time.monotonic() - sent


# -- a step fails ---------------------------------------------------------------------------


@pytest.mark.parametrize("fault", sorted(FAILING))
def test_a_failing_step_fails_the_run_and_the_cli_exits_1(fault, cli, vertex_project, fake_vertex):
    done = cli.run_faulty(fault)
    assert done.returncode == 1, done.stderr
    record = only_run(vertex_project)
    assert f"run {record.run_id} failed" in done.stdout
    assert record.status.value == "failed"
    assert statuses(record) == {"produce": "success", "misbehave": "failed"}
    assert FAILING[fault] in step_error(record, "misbehave")
    assert record.error.startswith("step 'misbehave' failed: ")
    assert job_states(fake_vertex, record.run_id) == {
        "produce": "JOB_STATE_SUCCEEDED",
        "misbehave": "JOB_STATE_FAILED",
    }


def test_a_step_past_its_timeout_has_its_job_cancelled_and_fails_the_run(
    cli, vertex_project, fake_vertex
):
    started = time.monotonic()
    done = cli.run("run", "fault_pipelines.py:timeout", "--backend", "vertex", "--quiet")
    assert done.returncode == 1, done.stderr
    assert time.monotonic() - started < 90, "the step sleeps 120 s: the timeout did not act"
    record = only_run(vertex_project)
    assert record.status.value == "failed"
    assert statuses(record) == {"overrun": "failed"}
    assert "exceeded its timeout of 1 s" in step_error(record, "overrun")
    assert job_states(fake_vertex, record.run_id) == {"overrun": "JOB_STATE_CANCELLED"}


@pytest.mark.parametrize("fault", sorted(FATAL))
def test_a_step_that_kills_its_job_process_fails_the_run_naming_the_step(
    fault, cli, vertex_project, fake_vertex
):
    done = cli.run_faulty(fault)
    assert done.returncode == 1, done.stdout
    record = only_run(vertex_project)
    assert record.status.value == "failed"
    assert statuses(record) == {"produce": "success", "misbehave": "failed"}
    error = step_error(record, "misbehave")
    assert error.startswith("step 'misbehave' crashed: ") and FATAL[fault] in error, error
    assert record.error.startswith("step 'misbehave' failed: ")
    assert job_states(fake_vertex, record.run_id) == {
        "produce": "JOB_STATE_SUCCEEDED",
        "misbehave": "JOB_STATE_FAILED",
    }


# -- the process owning the run is stopped or killed ------------------------------------------


@pytest.mark.parametrize("signum", STOPPING, ids=lambda s: signal.Signals(s).name)
def test_a_stopping_signal_cancels_the_running_job_and_exits_128_plus_the_signal(
    signum, cli, fake_vertex, log_store
):
    process, output, waited = stop_with(signum, cli, fake_vertex, log_store)
    assert process.returncode == 128 + signum, output
    assert waited < 5, f"the CLI took {waited:.1f} s to stop; the step sleeps 120 s"
    run_id = re.search(r"run (\w+) cancelled in", output)
    assert run_id, output
    assert f"run interrupted by {signal.Signals(signum).name}" in output
    # Cancelled by the CLI before it exited (no reader of the store has run yet): by
    # stop_run, and maybe once more by the thread following the job.
    assert fake_vertex.faults.call_count("CancelCustomJob") >= 1
    assert job_states(fake_vertex, run_id[1]) == {
        "produce": "JOB_STATE_SUCCEEDED",
        "misbehave": "JOB_STATE_CANCELLED",
    }


@pytest.mark.parametrize("signum", STOPPING, ids=lambda s: signal.Signals(s).name)
def test_a_stopping_signal_records_the_run_and_its_running_step_cancelled(
    signum, cli, vertex_project, fake_vertex, log_store
):
    stop_with(signum, cli, fake_vertex, log_store)
    record = only_run(vertex_project)
    assert record.status.value == "cancelled", record.error
    assert statuses(record) == {"produce": "success", "misbehave": "cancelled"}


def test_sigkill_of_the_owner_leaves_a_crashed_run_whose_job_the_next_reader_cancels(
    cli, vertex_project, fake_vertex, log_store
):
    process = cli.start_hanging()
    job_name = hanging_job(fake_vertex, log_store)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    # Nobody follows the job now: it runs on until a reader finds the run crashed.
    job = fake_vertex.jobs.snapshot(fake_vertex.jobs.get(job_name))
    assert job.state.name == "JOB_STATE_RUNNING"
    assert fake_vertex.faults.call_count("CancelCustomJob") == 0
    listed = cli.run("runs", "list")
    assert listed.returncode == 0, listed.stderr
    gone = f"the process that owned this run (pid {process.pid} on host"
    assert "crashed" in listed.stdout and gone in listed.stdout, listed.stdout
    assert "could not clean up" not in listed.stderr, listed.stderr
    assert fake_vertex.faults.call_count("CancelCustomJob") == 1
    assert fake_vertex.wait_for_job(job_name, 30).state.name == "JOB_STATE_CANCELLED"
    record = only_run(vertex_project)
    assert record.status.value == "crashed" and gone in record.error
    assert statuses(record) == {"produce": "success", "misbehave": "crashed"}
    assert gone in step_error(record, "misbehave")
    assert job_states(fake_vertex, record.run_id) == {
        "produce": "JOB_STATE_SUCCEEDED",
        "misbehave": "JOB_STATE_CANCELLED",
    }


# -- the flowyml_run_crashed hook -------------------------------------------------------------


def closed_port() -> str:
    """A loopback address nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


def test_crash_clean_up_with_an_unreachable_endpoint_returns_quietly(project, vertex_settings):
    from flowyml.plugins.manager import get_plugin_manager

    settings = {**vertex_settings, "vertex_endpoint": closed_port(), "retry_deadline_seconds": 1}
    (project / "flowyml.yaml").write_text(stack_yaml(settings))
    started = time.monotonic()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        get_plugin_manager().notify_run_crashed("gone-1", "vertex_ai")
    assert time.monotonic() - started < 5


def test_crash_clean_up_refused_by_vertex_is_reported_as_a_warning(
    project, vertex_settings, fake_vertex
):
    from flowyml.plugins.manager import get_plugin_manager

    (project / "flowyml.yaml").write_text(stack_yaml(vertex_settings))
    fake_vertex.faults.deny(project=PROJECT)
    with pytest.warns(RuntimeWarning, match="could not clean up crashed run denied-1: .*denied"):
        get_plugin_manager().notify_run_crashed("denied-1", "vertex_ai")
    assert fake_vertex.faults.call_count("ListCustomJobs") == 1  # a refusal is not retried


def test_crash_clean_up_of_another_backends_run_imports_nothing():
    code = (
        "import sys\n"
        "from flowyml_gcp.plugin import flowyml_run_crashed\n"
        "before = set(sys.modules)\n"
        "flowyml_run_crashed(run_id='r-1', backend='docker')\n"
        "print(sorted(set(sys.modules) - before))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
