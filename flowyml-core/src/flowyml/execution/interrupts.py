"""Signals that stop a run: Ctrl-C (SIGINT), SIGTERM and SIGHUP are treated alike.

While a run is owned by the main thread of this process, :func:`interrupts_stop_runs`
turns each of these signals into :class:`~flowyml.errors.RunInterrupted` (a
``KeyboardInterrupt``), so the orchestrator stops its steps, records the run as
cancelled and re-raises; the command line then prints the summary and exits with
128 + the signal number. A second signal while that clean-up runs ends the process at
once: a later reader marks the run crashed.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from flowyml.errors import RunInterrupted

__all__ = ["interrupts_stop_runs", "stop_on_sigterm", "user_interrupted"]

_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)
_state = threading.local()
_received: list[int] = []


def user_interrupted() -> bool:
    """Whether a stopping signal reached this process during the current run.

    Step code that raises ``KeyboardInterrupt`` by itself is a failed step; one raised
    because the user pressed Ctrl-C stops the run. This tells them apart.
    """
    return bool(_received)


def _handle(signum: int, frame: FrameType | None) -> None:
    if _received:
        # Second signal: clean-up is taking too long for the user; leave now.
        sys.stderr.write(f"\n{signal.Signals(signum).name} again: exiting without clean-up\n")
        os._exit(128 + signum)
    _received.append(signum)
    raise RunInterrupted(signum)


@contextmanager
def interrupts_stop_runs() -> Iterator[None]:
    """Within this block, SIGINT, SIGTERM and SIGHUP raise ``RunInterrupted``.

    Only the main thread can install signal handlers; elsewhere (a run started from a
    worker thread of a service) the block changes nothing. Nested blocks are no-ops.
    """
    if threading.current_thread() is not threading.main_thread() or getattr(
        _state, "active", False
    ):
        yield
        return
    previous: dict[int, Any] = {}
    for signum in _SIGNALS:
        current = signal.getsignal(signum)
        if current is signal.SIG_IGN:
            continue  # e.g. SIGHUP under nohup, SIGINT in a background job: asked for
        previous[signum] = signal.signal(signum, _handle)
    _state.active = True
    _received.clear()
    try:
        yield
    finally:
        _state.active = False
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _received.clear()


def stop_on_sigterm() -> None:
    """In a process running steps for a run owned elsewhere (the step runner in a
    container or cloud job), SIGTERM raises ``RunInterrupted``, which step code cannot
    mistake for its own failure, and ends the process promptly even as PID 1 (which
    ignores signals it has no handler for)."""
    if threading.current_thread() is not threading.main_thread():
        return  # handlers can only be installed from the main thread

    def stop(signum: int, frame: FrameType | None) -> None:
        _received.append(signum)
        raise RunInterrupted(signum)

    signal.signal(signal.SIGTERM, stop)
