"""Following one step group's handle on a remote target until it ends.

A backend whose target answers "how is this job?" rather than pushing events (Vertex AI
CustomJobs, SageMaker training jobs, Kubernetes Jobs without a watch) follows each
group the same way: ask, copy the new log lines into the run's tracker, stop the job
when the run is stopped or the group's timeout passes, and ask again after a wait that
grows by half each time (never a busy loop). :func:`watch_handle` is that loop, once; the
backend passes how to ask, read and stop.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flowyml.execution.run_tracker import RunTracker
from flowyml.records.log_entry import LogEntry
from flowyml.records.status import ExecutionStatus

__all__ = ["Backoff", "WatchOutcome", "watch_handle"]


@dataclass(frozen=True)
class Backoff:
    """Waits between two polls: ``initial`` seconds, growing by ``factor`` up to
    ``maximum``."""

    initial: float = 2.0
    maximum: float = 30.0
    factor: float = 1.5

    def waits(self) -> Any:
        """The successive waits."""
        delay = self.initial
        while True:
            yield delay
            delay = min(delay * self.factor, self.maximum)


@dataclass
class WatchOutcome:
    """How a watched handle ended.

    Attributes:
        status: its last status (finished).
        facts: the last facts ``poll`` returned.
        lines: what its group printed, in order.
        timed_out: it was stopped because the group's timeout passed.
        stopped: it was stopped because the run was stopped.
        polls: how many times it was asked about.
    """

    status: ExecutionStatus
    facts: dict[str, Any] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    timed_out: bool = False
    stopped: bool = False
    polls: int = 0


def watch_handle(
    tracker: RunTracker,
    group: str,
    *,
    poll: Callable[[], tuple[ExecutionStatus, dict[str, Any]]],
    read_logs: Callable[[], list[LogEntry]],
    stop: Callable[[], None],
    timeout: float | None,
    backoff: Backoff,
    wake: threading.Event | None = None,
) -> WatchOutcome:
    """Follow a group's handle until ``poll`` says it has finished.

    Args:
        tracker: the run's tracker; the group's status and facts, and the new log lines,
            go there after each poll.
        group: the group.
        poll: the handle's status and facts now (one API call, say).
        read_logs: the lines printed since the previous call.
        stop: ask the target to stop the handle (called once).
        timeout: seconds the group may run (``None``: no limit).
        backoff: the waits between polls.
        wake: set by whoever stops the run, so a poller notices at once instead of after
            its wait; once set, polls come briskly (every half second at most) until the
            handle has ended.
    """
    wake = wake or threading.Event()
    deadline = None if not timeout else time.monotonic() + timeout
    outcome = WatchOutcome(ExecutionStatus.PENDING)
    waits = backoff.waits()
    stopping = False
    while True:
        outcome.status, outcome.facts = poll()
        outcome.polls += 1
        tracker.update(group, status=outcome.status, **outcome.facts)
        _copy_logs(tracker, read_logs, outcome)
        if outcome.status.is_finished:
            break
        if not stopping and tracker.is_cancelled():
            stopping = outcome.stopped = True
            stop()
        if not stopping and deadline is not None and time.monotonic() >= deadline:
            stopping = outcome.timed_out = True
            stop()
        delay = next(waits)
        if wake.is_set() or stopping:
            time.sleep(min(delay, 0.5))
        else:
            wake.wait(delay)
    # Lines can reach the log service after the handle ended: read once more.
    _copy_logs(tracker, read_logs, outcome)
    return outcome


def _copy_logs(
    tracker: RunTracker, read_logs: Callable[[], list[LogEntry]], outcome: WatchOutcome
) -> None:
    fresh = read_logs()
    outcome.lines += [entry.message for entry in fresh]
    tracker.add(fresh)
