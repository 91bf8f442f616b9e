"""Stopping, on its Dask worker, a step that ran past its timeout.

The core's step engine runs a step that has a timeout in a helper thread and, once the
timeout passes, reports it failed and abandons the thread: Python cannot kill a thread.
On a Dask worker, shared by many steps and runs, an abandoned step would go on using a
CPU, memory or a GPU after its run ended. So the worker task watches which thread runs
the step's function (:class:`WatchedStep`) and, when the step engine returns while that
thread still runs, stops it: :class:`StepOverrun` is raised in the thread, which takes
effect at its next Python bytecode. A thread blocked in C code (``time.sleep``, a socket,
a native library) does not see it; past :data:`STOP_GRACE` the task reports the worker as
stuck, and the client restarts that worker through its nanny.
"""

from __future__ import annotations

import copy
import ctypes
import threading
import time
from typing import Any

__all__ = ["STOP_GRACE", "StepOverrun", "WatchedStep"]

#: Seconds a thread raised into may take to end before its worker must be restarted.
STOP_GRACE = 2.0


class StepOverrun(BaseException):
    """Raised inside the thread of a step past its timeout, to end it.

    A ``BaseException``, so that a step's own ``except Exception`` does not swallow it.
    """


class WatchedStep:
    """A step whose function notes the threads running it, so that they can be stopped.

    Args:
        step: the step to run; it is not changed (a shallow copy calls its function).
    """

    def __init__(self, step: Any) -> None:
        self._func = step.func
        self._threads: set[int] = set()
        self._lock = threading.Lock()
        # A copy with a wrapping function: the engine calls ``step.func`` in the thread it
        # made for the step, and nothing on a worker reads the function's fingerprint (the
        # cache is looked up on the client).
        self.step = copy.copy(step)
        self.step.func = self._call

    def _call(self, *args: Any, **kwargs: Any) -> Any:
        ident = threading.get_ident()
        with self._lock:
            self._threads.add(ident)
        try:
            return self._func(*args, **kwargs)
        finally:
            with self._lock:
                self._threads.discard(ident)

    def running(self) -> set[int]:
        """Idents of the threads still inside the step's function."""
        with self._lock:
            return set(self._threads)

    def stop(self, grace: float = STOP_GRACE) -> bool:
        """Raise :class:`StepOverrun` in every thread still running the step, and wait up
        to ``grace`` seconds for them to end.

        Returns:
            True when none runs any more; False when one is still blocked (in C code, or
            catching ``BaseException``): only restarting its process stops it.
        """
        for ident in self.running():
            _raise_in(ident)
        deadline = time.monotonic() + grace
        while self.running():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.02)
        return True


def _raise_in(ident: int) -> None:
    """Schedule :class:`StepOverrun` in thread ``ident`` (CPython's documented C API)."""
    changed = ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(ident), ctypes.py_object(StepOverrun)
    )
    if changed > 1:  # never expected: undo rather than raise in threads that are not ours
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), None)
