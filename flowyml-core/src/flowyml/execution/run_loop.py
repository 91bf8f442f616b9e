"""The loop that takes a run's ready groups to worker threads, or runs them itself.

Ready groups go to worker threads (:class:`~flowyml.execution.step_threads.StepThreads`),
up to the executor's ``max_workers`` at once. Two kinds run on the loop's own thread
instead, sparing a thread hand-off that costs more than they do:

- the only runnable group (a chain);
- with an in-process executor, groups that ran in under a millisecond the last time
  (:mod:`flowyml.execution.quick_groups`), while groups for the workers are handed out
  first, so a slow group never waits behind quick ones.

A prediction can be wrong: a quick step may block this time, waiting for another step of
the run (a barrier, a queue). A watcher thread therefore looks at the group running here
every :data:`STUCK_SECONDS`; one still running after a whole interval is treated as
stuck, and the watcher hands out the waiting groups and takes finished ones until it
returns, as the loop would. A wrong prediction costs at most that interval, never a
deadlock.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future

from flowyml.definition.grouping import StepGroup
from flowyml.execution.quick_groups import quick_groups
from flowyml.execution.run_state import RunState
from flowyml.execution.step_threads import StepThreads
from flowyml.records.results import ExecutionResult

__all__ = ["STUCK_SECONDS", "RunLoop"]

STUCK_SECONDS = 0.01

_Results = list[ExecutionResult]


class RunLoop:
    """Runs the ready groups of one run until none is left, or the run stopped.

    Args:
        state: the run's bookkeeping (its ``stopped`` ends the hand-out).
        ready: the groups ready now; ``complete`` appends the groups it releases.
        max_workers: worker threads at most.
        in_process: the executor runs steps in this process (quick groups may run here).
        announce: records that a group starts.
        dispatch: runs a group, returning its results.
        complete: records a group's results and appends the groups it releases to ready.
        reuse: the results of a group reused from a resumed run, or ``None``; ``None``
            when the run resumes nothing.
    """

    def __init__(
        self,
        state: RunState,
        ready: deque[StepGroup],
        *,
        max_workers: int,
        in_process: bool,
        announce: Callable[[StepGroup], None],
        dispatch: Callable[[StepGroup], _Results],
        complete: Callable[[StepGroup, _Results], None],
        reuse: Callable[[StepGroup], _Results | None] | None,
    ) -> None:
        self.state = state
        self.ready = ready
        self.max_workers = max(1, max_workers)
        self.in_process = in_process
        self._announce = announce
        self._dispatch = dispatch
        self._complete = complete
        self._reuse = reuse
        self.held: deque[StepGroup] = deque()  # for the workers, once one is free
        self.here: deque[StepGroup] = deque()  # to run on the loop's thread
        self.in_flight: dict[Future[_Results], StepGroup] = {}
        self._pool: StepThreads | None = None
        # Everything above is changed under this lock: by the loop, and by the watcher
        # while the loop runs a group (the only time the loop does not hold it).
        self._lock = threading.Lock()
        self._inline = 0  # the number of the group running here; 0 while none runs
        self._inline_count = 0
        self._stuck = False
        self._watcher: threading.Thread | None = None
        self._done = threading.Event()
        self._watcher_error: BaseException | None = None

    def run(self) -> None:
        """Run until every group ran or was blocked, or the run stopped and nothing of it
        still runs on a worker."""
        lock = self._lock
        try:
            with lock:
                while self.ready or self.held or self.here or self.in_flight:
                    self._hand_out()
                    if self.state.stopped:
                        if not self.in_flight:
                            break
                    elif self.here:
                        self._run_here(self.here.popleft())
                        continue
                    if not self.in_flight:
                        continue
                    assert self._pool is not None  # something is in flight
                    lock.release()
                    try:
                        future = self._pool.next_finished()
                    finally:
                        lock.acquire()
                    self._take(future)
        finally:
            self._done.set()
            if self._watcher is not None:
                # It refers to this loop, and so to the run's results: gone with the run.
                self._watcher.join(timeout=1.0)
            if self._pool is not None:
                # With nothing in flight, every worker is about to be idle: waiting for it
                # means none still refers to a result when the run returns.
                self._pool.shutdown(settle=0.0 if self.in_flight else 1.0)

    def _hand_out(self) -> None:
        """Give free workers their groups, and sort the ready ones."""
        state = self.state
        while self.held and len(self.in_flight) < self.max_workers and not state.stopped:
            self._submit(self.held.popleft())
        while self.ready and not state.stopped:
            group = self.ready.popleft()
            if self._reuse is not None:
                reused = self._reuse(group)
                if reused is not None:
                    self._complete(group, reused)
                    continue
            alone = not (self.in_flight or self.ready or self.held or self.here or self._inline)
            if alone or (self.in_process and not self._stuck and quick_groups.is_quick(group)):
                self.here.append(group)
            elif len(self.in_flight) < self.max_workers and not self.held:
                self._submit(group)
            else:
                self.held.append(group)

    def _submit(self, group: StepGroup) -> None:
        if self._pool is None:
            self._pool = StepThreads(self.max_workers, "flowyml-step")
        self._announce(group)
        self.in_flight[self._pool.submit(self._dispatch, group)] = group

    def _take(self, future: Future[_Results]) -> None:
        group = self.in_flight.pop(future)
        results = future.result()
        if self.in_process:
            quick_groups.record(group, results, on_worker=True)
        self._complete(group, results)

    def _take_finished(self) -> None:
        """Record the groups the workers finished, without waiting for any."""
        pool = self._pool
        while pool is not None and (future := pool.finished_now()) is not None:
            self._take(future)

    def _run_here(self, group: StepGroup) -> None:
        """Run a group on this thread, the lock released meanwhile (called holding it)."""
        self._announce(group)
        self._inline_count += 1
        self._inline = self._inline_count
        if self._watcher is None and (self.here or self.in_flight or self.held or self.ready):
            self._watcher = threading.Thread(
                target=self._watch, name="flowyml-run-watcher", daemon=True
            )
            self._watcher.start()
        self._lock.release()
        try:
            results = self._dispatch(group)
        finally:
            self._lock.acquire()
            self._inline = 0
            self._stuck = False
        if self._watcher_error is not None:
            raise self._watcher_error
        if self.in_process:
            quick_groups.record(group, results, on_worker=False)
        self._complete(group, results)
        if self._pool is not None:
            self._take_finished()

    def _watch(self) -> None:
        """Stand in for the loop while a group it runs is stuck (see the module doc)."""
        seen = 0
        while not self._done.wait(STUCK_SECONDS):
            with self._lock:
                if not self._inline or self._inline != seen:
                    seen = self._inline  # a new group since the last look: give it time
                    continue
                try:
                    if not self._stuck:
                        self._stuck = True
                        self.held.extend(self.here)
                        self.here.clear()
                    self._take_finished()
                    self._hand_out()
                except BaseException as exc:  # raised in the loop's thread when it is back
                    self._watcher_error = exc
                    return
