"""Run-event hooks on `docker`: the events `local` reports, from the process that owns the run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from docker_harness import PROJECT, hanging_container, pipeline
from flowyml_audit.plugin import order_problems, read_events
from polling import wait_for

pytestmark = pytest.mark.docker

FAULTY = f"{PROJECT / 'pipelines.py'}:faulty"


@pytest.fixture
def audit(docker_project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The file the audit plugin records run events in."""
    path = docker_project / "audit.jsonl"
    monkeypatch.setenv("FLOWYML_AUDIT_FILE", str(path))
    return path


def sequence(events: list[dict[str, Any]]) -> list[tuple[str, str | None, str | None]]:
    """Each event's type, step and status."""
    return [(e["event"], e.get("step"), e.get("status")) for e in events]


def test_docker_reports_the_same_events_in_the_same_order_as_local(audit):
    seen = {}
    for backend in ["docker", "local"]:
        run = pipeline("faulty").run(backend, context={"fault": "raise"}, echo_logs=False)
        assert not run.success and run.not_run == ["keep"]
        events = read_events(audit, run.run_id)
        assert not order_problems(events)
        assert {e["pid"] for e in events} == {os.getpid()}  # not the containers
        assert events[0]["backend"] == backend
        seen[backend] = sequence(events)
    assert (
        seen["docker"]
        == seen["local"]
        == [
            ("run_started", None, None),
            ("step_started", "give", None),
            ("step_finished", "give", "success"),
            ("step_started", "misbehave", None),
            ("step_finished", "misbehave", "failed"),
            ("run_finished", None, "failed"),
        ]
    )


def test_ctrl_c_of_the_owner_still_ends_the_events_with_the_run_finished_cancelled(
    audit, docker_client
):
    process = subprocess.Popen(
        [sys.executable, "-m", "flowyml", "run", FAULTY, "--backend", "docker", "-p", "fault=hang"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # the signal reaches this process only
    )
    try:
        wait_for(lambda: hanging_container(docker_client), 120, "the hanging step")
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 128 + signal.SIGINT, err
    events = read_events(audit)
    assert not order_problems(events)
    assert {e["pid"] for e in events} == {process.pid}
    assert sequence(events) == [
        ("run_started", None, None),
        ("step_started", "give", None),
        ("step_finished", "give", "success"),
        ("step_started", "misbehave", None),
        ("step_finished", "misbehave", "cancelled"),
        ("run_finished", None, "cancelled"),
    ]
