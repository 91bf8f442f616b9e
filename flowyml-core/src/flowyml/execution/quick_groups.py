"""Which ready groups the scheduler runs on its own thread rather than on a worker.

Handing a group to a worker thread and taking its result back costs two thread switches,
tens of microseconds on a loaded machine: more than a trivial step costs to run. When
several groups are ready at once, an in-process executor's groups that ran in under
:data:`QUICK_SECONDS` the last time this process ran them are run by the scheduler
itself, one after another, while the others go to the workers first; a wide fan-out of
small steps then costs what a chain of them costs.

A duration measured on a worker thread includes the time the step waited for the GIL
while many workers ran: a trivial step may seem to take milliseconds there. So a group
measured slow on a worker, but under :data:`WORKER_DOUBT_SECONDS`, is tried on the
scheduler's thread once, where it is measured alone; a group measured slow there, or
slower than that on a worker, goes to a worker. A group never run in this process goes
to a worker. Cached and skipped executions say nothing about how long a group takes to
run, so they do not count.

A quick group may turn slow, or block this time until another step runs: see
:mod:`flowyml.execution.run_loop` for why that never deadlocks a run.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from flowyml.definition.grouping import StepGroup
from flowyml.records.results import ExecutionResult

__all__ = ["QUICK_SECONDS", "QuickGroups", "quick_groups"]

QUICK_SECONDS = 0.001
WORKER_DOUBT_SECONDS = 0.02
_MAX_ENTRIES = 100_000  # forgotten all at once past this: a process running endless pipelines


def _key(group: StepGroup) -> tuple[object, ...]:
    # By the steps' functions, not only by name: a pipeline redefined with other code under
    # the same names (a notebook cell run again) starts with no prediction. A function's
    # id may be reused once it is freed; that costs one wrong prediction, never a result.
    if len(group.steps) == 1:
        return group.name, id(group.steps[0].func)
    return group.name, *(id(member.func) for member in group.steps)


class QuickGroups:
    """The last execution time of each group run in this process."""

    def __init__(self) -> None:
        # key -> (seconds, measured alone: on the scheduler's thread, or quick anyway)
        self._seconds: dict[tuple[object, ...], tuple[float, bool]] = {}
        self._lock = threading.Lock()

    def is_quick(self, group: StepGroup) -> bool:
        """Whether to run the group on the scheduler's thread (see the module doc)."""
        known = self._seconds.get(_key(group))
        if known is None:
            return False
        seconds, alone = known
        return seconds < (QUICK_SECONDS if alone else WORKER_DOUBT_SECONDS)

    def record(
        self, group: StepGroup, results: Iterable[ExecutionResult], *, on_worker: bool
    ) -> None:
        """Remember how long the group's steps ran, when they all ran (none cached or
        skipped), and where."""
        total = 0.0
        ran = False
        for result in results:
            if result.cached or result.skipped:
                return
            total += result.duration_seconds
            ran = True
        if not ran:
            return
        key = _key(group)
        known = self._seconds.get(key)
        if (
            known is not None
            and not on_worker
            and known[1]
            and (known[0] < QUICK_SECONDS) == (total < QUICK_SECONDS)
        ):
            return  # measured alone again, on the same side: the prediction stands
        with self._lock:
            if len(self._seconds) >= _MAX_ENTRIES:
                self._seconds.clear()
            known = self._seconds.get(key)
            if on_worker and total >= QUICK_SECONDS and known is not None and known[1]:
                # Slow on a worker, measured alone before: it stays what it was known to be
                # if that was slow; if it was quick, it is tried alone again.
                self._seconds[key] = (total, known[0] >= QUICK_SECONDS)
            else:
                self._seconds[key] = (total, not on_worker or total < QUICK_SECONDS)

    def forget(self) -> None:
        """Forget every duration (tests start from a clean slate)."""
        with self._lock:
            self._seconds.clear()


quick_groups = QuickGroups()
