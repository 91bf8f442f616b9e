"""A handle's stop request is sent once (flowyml/execution/run_tracker.py): a run's
stop and the handle's watcher both ask for it."""

from __future__ import annotations

import pytest

from flowyml.execution.run_tracker import RunTracker


def test_a_handle_is_stopped_once_however_often_it_is_asked():
    tracker = RunTracker("r1")
    sent: list[str] = []
    tracker.stop_once("job-1", lambda: sent.append("job-1"))
    tracker.stop_once("job-1", lambda: sent.append("job-1"))
    tracker.stop_once("job-2", lambda: sent.append("job-2"))
    assert sent == ["job-1", "job-2"]


def test_a_stop_that_failed_is_sent_again_next_time():
    tracker = RunTracker("r1")
    sent: list[str] = []

    def refused() -> None:
        raise ConnectionError("endpoint unreachable")

    with pytest.raises(ConnectionError):
        tracker.stop_once("job-1", refused)
    tracker.stop_once("job-1", lambda: sent.append("job-1"))
    assert sent == ["job-1"]
