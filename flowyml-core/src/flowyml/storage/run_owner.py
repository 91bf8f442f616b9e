"""Who owns a run: the process recording it, whether that process lives, and its heartbeat.

A run is RUNNING only while the process orchestrating it lives. The run store records the
owner with the run — host name, PID and the process start time (``/proc/<pid>/stat``
field 22 on Linux, so a PID the kernel gave to another process is not taken for the
owner) — and refreshes the run's ``heartbeat_at`` while it runs. Any reader can then tell
a live run from one whose process died (``os._exit`` in a step, SIGKILL, the OOM killer,
a reboot):

- same machine (host name, boot and PID namespace): the owner is gone when its PID is
  free, a zombie, or held by a process that started at another time;
- another machine, or a platform where the PID cannot be checked: the owner is presumed
  gone when its heartbeat is older than :data:`HEARTBEAT_TIMEOUT`.

The heartbeat rule compares clocks of two hosts, so it assumes they agree to well under
:data:`HEARTBEAT_TIMEOUT`. :class:`StepCommits` makes sure the record of a crashed run
names the step that was running, without a commit for every trivial step.
"""

from __future__ import annotations

import functools
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flowyml.storage.database import Database

__all__ = [
    "HEARTBEAT_INTERVAL",
    "HEARTBEAT_TIMEOUT",
    "Heartbeat",
    "RunOwner",
    "StepCommits",
    "gone_reason",
]

HEARTBEAT_INTERVAL = 5.0
"""Seconds between two refreshes of the ``heartbeat_at`` of a run this process runs."""

HEARTBEAT_TIMEOUT = 60.0
"""Seconds without a heartbeat after which a run owned elsewhere is presumed crashed."""

STEP_COMMIT_BURST = 5
"""Step starts committed at once in a burst, before :class:`StepCommits` slows down."""

STEP_COMMIT_INTERVAL = 0.05
"""Seconds between two step starts committed at once, after a burst."""


@dataclass(frozen=True)
class RunOwner:
    """The process that records a run.

    Attributes:
        host: the host name.
        pid: the process id.
        started: the process start time in clock ticks after boot (``/proc/<pid>/stat``
            field 22), or ``None`` where there is no ``/proc``.
        machine: the boot id and PID namespace: PIDs only compare within one of them (a
            container may share the host name, a reboot reuses every PID). ``None`` where
            there is no ``/proc``.
    """

    host: str
    pid: int
    started: int | None
    machine: str | None

    @classmethod
    def current(cls) -> RunOwner:
        """This process (computed once per PID, so a forked child is itself)."""
        return _owner_of(os.getpid())

    def describe(self) -> str:
        """``pid 1234 on host h, started 2026-11-24 10:00:01`` (the start when known)."""
        text = f"pid {self.pid} on host {self.host}"
        here = RunOwner.current()
        when = _wall_clock(self.started) if self.machine == here.machine else None
        return text if when is None else f"{text}, started {when}"


@functools.cache
def _owner_of(pid: int) -> RunOwner:
    stat = _proc_stat(pid)
    return RunOwner(socket.gethostname(), pid, stat[1] if stat else None, _machine())


def gone_reason(owner: RunOwner, last_seen: float, now: float | None = None) -> str | None:
    """Why the owner of a RUNNING run is gone, or ``None`` while it may be alive.

    Args:
        owner: the run's owner, as recorded.
        last_seen: the run's last heartbeat (its start when it has none).
        now: the current time (default: ``time.time()``).

    Returns:
        A sentence for the run's ``error``, or ``None``.
    """
    here = RunOwner.current()
    if owner.host == here.host and owner.machine == here.machine:
        if owner == here:
            return None
        alive = _pid_alive(owner.pid)
        stat = _proc_stat(owner.pid) if alive is not False else None
        if alive is False or (stat is not None and stat[0] in ("Z", "X")):
            return f"{_owned_by(owner)} is gone; the run crashed or was killed"
        if stat is not None and owner.started is not None:
            if stat[1] == owner.started:
                return None
            return (
                f"{_owned_by(owner)} is gone (its pid now belongs to another process);"
                " the run crashed or was killed"
            )
        # The PID is taken but its start time is unknown: only the heartbeat can tell a
        # live owner from a process that got its PID.
    silence = (time.time() if now is None else now) - last_seen
    if silence > HEARTBEAT_TIMEOUT:
        return (
            f"{_owned_by(owner)} has sent no heartbeat for {silence:.0f} s;"
            " the run crashed or was killed"
        )
    return None


def _owned_by(owner: RunOwner) -> str:
    return f"the process that owned this run ({owner.describe()})"


class Heartbeat:
    """Refreshes ``heartbeat_at`` of the runs this process is running.

    The refresh is queued from the database's background writer (no thread of its own,
    nothing per step), at most every :data:`HEARTBEAT_INTERVAL` seconds.

    Args:
        db: the database holding the ``runs`` table.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._runs: set[str] = set()
        self._lock = threading.Lock()
        self._registered = False
        self._due = 0.0

    def start(self, run_id: str) -> None:
        """Keep the run's heartbeat fresh until :meth:`stop`."""
        with self._lock:
            self._runs.add(run_id)
            register, self._registered = not self._registered, True
        if register:
            self._db.call_periodically(self._beat)

    def stop(self, run_id: str) -> None:
        """Stop refreshing the run's heartbeat."""
        with self._lock:
            self._runs.discard(run_id)

    def _beat(self) -> None:
        now = time.monotonic()
        if now < self._due:
            return
        self._due = now + HEARTBEAT_INTERVAL  # read each time: tests shorten it
        stamp = time.time()
        # Queued under the lock: once stop() returns, no refresh of its run is queued.
        with self._lock:
            for run_id in self._runs:
                self._db.write("UPDATE runs SET heartbeat_at=? WHERE run_id=?", (stamp, run_id))


class StepCommits:
    """When the run store commits a step's start at once, so that a crash names its step.

    A step's start is committed before its body runs: when the step takes the process
    down (``os._exit``, a segfault, the OOM killer), that row names it. Committing costs
    more than a trivial step, so bursts of :data:`STEP_COMMIT_BURST` starts are committed,
    then one every :data:`STEP_COMMIT_INTERVAL`; the other starts go with the next batch.
    The run store commits the end of a step whose start was committed too: otherwise a
    crash in the next step would leave it "running" and blame it. So a crash in a long
    chain of trivial steps may be recorded without its step, never against another one.

    The budget is kept as the time the next commit is allowed (the generic cell rate
    algorithm): a step that may not commit pays one clock reading and a comparison.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next = 0.0  # theoretical time of the next commit, with no burst left
        self._allowed_from = 0.0  # no commit is due before this (monotonic clock)

    def due(self) -> bool:
        """Whether the start of a step just queued is to be committed now."""
        now = time.monotonic()
        if now < self._allowed_from:  # read unlocked: it only grows, so a stale value is low
            return False
        with self._lock:
            interval, slack = STEP_COMMIT_INTERVAL, (STEP_COMMIT_BURST - 1) * STEP_COMMIT_INTERVAL
            start = max(self._next, now)
            if now < start - slack:
                return False
            self._next = start + interval
            self._allowed_from = self._next - slack
            return True


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """The state and start time (ticks after boot) of a process, from ``/proc``."""
    try:
        data = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    # Field 2, the command name, is in parentheses and may itself hold spaces or ")".
    fields = data[data.rindex(b")") + 2 :].split()
    return fields[0].decode(), int(fields[19])  # fields 3 and 22


def _pid_alive(pid: int) -> bool | None:
    """Whether a process has this PID; ``None`` where that cannot be asked safely."""
    if pid <= 0 or sys.platform == "win32":
        # os.kill(pid, 0) would signal a whole process group for pid <= 0, and on Windows
        # it terminates the process.
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by another user
    except OSError:
        return None
    return True


def _machine() -> str | None:
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return None
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = ""
    return f"{boot} {namespace}".strip()


def _wall_clock(ticks: int | None) -> str | None:
    """The local time a process started, from its start time in ticks after boot."""
    if ticks is None or sys.platform == "win32":
        return None
    try:
        lines = Path("/proc/stat").read_text().splitlines()
        boot = next(float(line.split()[1]) for line in lines if line.startswith("btime "))
        started = boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, StopIteration, ValueError):
        return None
    return datetime.fromtimestamp(started).strftime("%Y-%m-%d %H:%M:%S")
