"""Daemon worker threads that run step groups for the orchestrator.

``concurrent.futures.ThreadPoolExecutor`` joins its workers when the interpreter exits,
so one in-process step that never returns would keep an interrupted run's process alive
until it finished. These workers are daemon threads: an interrupted run records what
happened and its process exits at once, abandoning any step still running here (a
thread cannot be killed).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

__all__ = ["StepThreads"]

T = TypeVar("T")

_Job = tuple[Future[Any], Callable[..., Any], tuple[Any, ...]]


class StepThreads:
    """A pool of up to ``size`` daemon threads, started as work arrives and reused.

    Args:
        size: the most threads that run at once.
        name: prefix of the threads' names.
    """

    def __init__(self, size: int, name: str) -> None:
        self._size = max(1, size)
        self._name = name
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._became_idle = threading.Condition(self._lock)
        self._threads = 0
        self._idle = 0
        # Every finished job's future, in the order they finished (see next_finished).
        self._finished: queue.SimpleQueue[Future[Any]] = queue.SimpleQueue()

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        """Run ``fn(*args)`` on a worker; its outcome (value or exception) lands in the
        returned future."""
        future: Future[T] = Future()
        with self._lock:
            # The idle count is a hint: with every thread busy, the job waits in the queue.
            start = False
            if self._idle > 0:
                self._idle -= 1
            elif self._threads < self._size:
                self._threads += 1
                start = True
        future.add_done_callback(self._finished.put)
        self._jobs.put((future, fn, args))
        if start:
            name = f"{self._name}-{self._threads}"
            threading.Thread(target=self._work, name=name, daemon=True).start()
        return future

    def next_finished(self) -> Future[Any]:
        """The next job to finish (blocks until one does): one call per job, where
        ``concurrent.futures.wait`` on every future in flight costs their number each
        time (quadratic in a wide fan-out)."""
        while True:
            try:
                # A timeout lets signal handlers (Ctrl-C) run between two waits.
                return self._finished.get(timeout=0.5)
            except queue.Empty:
                continue

    def finished_now(self) -> Future[Any] | None:
        """The next job that finished, if one did (never blocks)."""
        try:
            return self._finished.get_nowait()
        except queue.Empty:
            return None

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            future, fn, args = job
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args))
                except BaseException as exc:  # delivered to whoever waits on the future
                    future.set_exception(exc)
            # An idle worker holds nothing of its last job (its result holds the step's
            # output values), so a finished run's values are freed with the run.
            del job, future, fn, args
            with self._lock:
                self._idle += 1
                self._became_idle.notify_all()

    def shutdown(self, settle: float = 0.0) -> None:
        """Let idle workers end; a worker still running a step ends when it returns.

        Args:
            settle: wait up to this long for every worker to be idle first: when no job
                is left to run, a worker that delivered its last result is then known to
                hold nothing of it.
        """
        with self._lock:
            if settle > 0:
                self._became_idle.wait_for(lambda: self._idle >= self._threads, settle)
            count = self._threads
        for _ in range(count):
            self._jobs.put(None)
