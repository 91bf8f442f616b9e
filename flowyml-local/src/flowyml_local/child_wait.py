"""Waiting for a spawned child with what it used, as ``wait4`` reports it.

``Popen.wait`` reaps a child with ``waitpid``, which drops its resource usage. The
``subprocess`` backend's spawned children are reaped here instead, so a step whose
process died before it could report still has its CPU time and peak memory recorded
(the fork server does the same for its forked children).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from flowyml_local.fork_server import ChildExit

__all__ = ["wait_child"]

_FIRST_POLL = 0.001
_MAX_POLL = 0.05


def wait_child(process: subprocess.Popen[bytes], timeout: float | None = None) -> ChildExit:
    """Wait for ``process`` to end; sets its ``returncode`` as ``Popen.wait`` does.

    Args:
        process: a child of this process that nothing else reaps.
        timeout: seconds to wait at most (``None``: until it ends).

    Raises:
        subprocess.TimeoutExpired: it still runs after ``timeout`` seconds.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    delay = _FIRST_POLL
    while True:
        pid, status, usage = os.wait4(process.pid, 0 if deadline is None else os.WNOHANG)
        if pid:
            process.returncode = os.waitstatus_to_exitcode(status)
            peak = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
            return ChildExit(status, usage.ru_utime, usage.ru_stime, peak)
        assert deadline is not None  # a blocking wait4 returns only with the child
        left = deadline - time.monotonic()
        if left <= 0:
            raise subprocess.TimeoutExpired(process.args, timeout or 0.0)
        time.sleep(min(delay, left))
        delay = min(delay * 2, _MAX_POLL)
