"""The cyclic garbage collector, paused for a run's bookkeeping but never for a step.

A run allocates a few container objects per step (results, records, artifacts) and
keeps most of them to its end: collecting them only costs time. On a chain of trivial
steps the collector took about 5% of the run, and its full collections were the
slowest runs' spikes. So while a run is driven here the collector is off, except
while a step's own code runs anywhere in the process: a step that makes cyclic garbage
(most ML libraries do) has it collected as usual, however long it runs, and a step on a
worker thread keeps the collector on for the bookkeeping around it too.

A step's own ``gc.disable()`` lasts until its code returns.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["StepCode", "bookkeeping_without_gc", "step_code"]

_lock = threading.Lock()
_runs = 0  # runs driven in this process now
_steps = 0  # step bodies running in this process now
_restore = False  # whether the collector was on when the first run began


@contextmanager
def bookkeeping_without_gc() -> Iterator[None]:
    """For the duration (one run), keep the collector off outside step code."""
    global _runs, _restore
    with _lock:
        if _runs == 0:
            _restore = gc.isenabled()
        _runs += 1
        if _steps == 0:
            gc.disable()
    try:
        yield
    finally:
        with _lock:
            _runs -= 1
            if _runs == 0 and _restore:
                gc.enable()


class StepCode:
    """Around a step's own code: the collector runs as it would without a run.

    A class rather than a generator context manager: it wraps every step.
    """

    __slots__ = ()

    def __enter__(self) -> None:
        global _steps
        with _lock:
            _steps += 1
            if _runs and _restore:
                gc.enable()

    def __exit__(self, *_: object) -> None:
        global _steps
        with _lock:
            _steps -= 1
            if _steps == 0 and _runs:
                gc.disable()


step_code = StepCode()
