"""Telling a live run's owner from a dead one (flowyml/run_owner.py)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from flowyml.storage import run_owner
from flowyml.storage.run_owner import RunOwner, gone_reason


@pytest.fixture
def dead_pid() -> int:
    """The PID of a child that exited and was reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_this_process_is_a_live_owner():
    assert gone_reason(RunOwner.current(), last_seen=0.0) is None


def test_a_live_process_on_this_machine_is_a_live_owner_whatever_its_heartbeat():
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as child:
        try:
            here = RunOwner.current()
            stat = run_owner._proc_stat(child.pid)
            owner = RunOwner(here.host, child.pid, stat[1] if stat else None, here.machine)
            if owner.started is None:
                pytest.skip("no /proc: a live PID is only trusted while its heartbeat is fresh")
            assert gone_reason(owner, last_seen=0.0) is None
        finally:
            child.kill()


def test_an_exited_process_on_this_machine_is_gone(dead_pid):
    here = RunOwner.current()
    reason = gone_reason(RunOwner(here.host, dead_pid, None, here.machine), time.time())
    assert reason is not None
    assert f"(pid {dead_pid} on host {here.host}" in reason
    assert reason.endswith("is gone; the run crashed or was killed")


def test_a_pid_held_by_a_process_started_at_another_time_is_gone():
    here = RunOwner.current()
    if here.started is None:
        pytest.skip("process start times come from /proc")
    owner = RunOwner(here.host, here.pid, here.started - 1, here.machine)
    reason = gone_reason(owner, time.time())
    assert reason is not None and "its pid now belongs to another process" in reason


def test_an_owner_elsewhere_is_gone_once_its_heartbeat_is_older_than_the_timeout():
    owner = RunOwner("another-host", 1234, 5, "another-machine")
    now = time.time()
    assert gone_reason(owner, now - run_owner.HEARTBEAT_TIMEOUT + 5, now) is None
    reason = gone_reason(owner, now - run_owner.HEARTBEAT_TIMEOUT - 5, now)
    assert reason is not None
    assert "(pid 1234 on host another-host)" in reason and "has sent no heartbeat for" in reason
