"""Which fork server a launch uses, and when a server is closed.

A server is kept per interpreter, environment, pipeline modules, import path and working
folder (what a fresh interpreter's import of the modules depends on). A launch never uses
a server whose modules went stale (a file they came from changed): it gets a new one that
imports them again. Each run leases the server it uses until it ends, so two pipelines
from different modules running at once keep a server each. A server is closed once
nothing uses it: no child of its own running, no run leasing it, and either stale or
not the newest of its interpreter and environment, so that after runs at most one server
per interpreter and environment is left, ready for the next run.
"""

from __future__ import annotations

import atexit
import os
import threading

from flowyml_local.fork_server import ForkServer

__all__ = ["acquire", "done", "release"]

_Key = tuple[str, tuple[tuple[str, str], ...], tuple[str, ...], tuple[str, ...], str]


class _Entry:
    def __init__(self, key: _Key, server: ForkServer) -> None:
        self.key = key
        self.server = server
        self.leases: set[str] = set()  # runs using it
        self.users = 0  # launches between acquire and done
        self.stale = False


_lock = threading.Lock()
_entries: list[_Entry] = []  # oldest first


def acquire(
    python: str,
    env: dict[str, str],
    targets: tuple[str, ...],
    path: list[str],
    run_id: str,
) -> ForkServer:
    """The server for one launch of run ``run_id``; pass it to :func:`done` afterwards.

    Args:
        python: the interpreter.
        env: the server's environment.
        targets: the run's modules (``MODULE`` or ``FILE`` of its steps' references).
        path: the import path the children get.
        run_id: the run, which leases the server until :func:`release`.
    """
    key: _Key = (python, tuple(sorted(env.items())), targets, tuple(path), os.getcwd())
    with _lock:
        entry = next((e for e in reversed(_entries) if e.key == key and not e.stale), None)
        if entry is not None and entry.server.stale() is not None:
            entry.stale = True
            entry = None
        if entry is None:
            entry = _Entry(key, ForkServer(python, env, targets, tuple(path)))
            _entries.append(entry)
        for other in _entries:
            other.leases.discard(run_id)
        entry.leases.add(run_id)
        entry.users += 1
        idle = _take_idle()
    _close(idle)
    return entry.server


def done(server: ForkServer) -> None:
    """One launch that :func:`acquire` returned ``server`` for has ended."""
    with _lock:
        for entry in _entries:
            if entry.server is server:
                entry.users -= 1
        idle = _take_idle()
    _close(idle)


def release(run_id: str) -> None:
    """Run ``run_id`` ended: the server it leased may be closed."""
    with _lock:
        for entry in _entries:
            entry.leases.discard(run_id)
        idle = _take_idle()
    _close(idle)


def _take_idle() -> list[ForkServer]:
    """Remove and return the servers nothing needs (call with the lock held)."""
    newest: dict[tuple[object, ...], _Entry] = {}
    for entry in _entries:
        if not entry.stale:
            newest[entry.key[:2]] = entry
    idle = [
        entry
        for entry in _entries
        if entry.users == 0
        and not entry.leases
        and entry.server.in_flight == 0
        and (entry.stale or newest.get(entry.key[:2]) is not entry)
    ]
    for entry in idle:
        _entries.remove(entry)
    return [entry.server for entry in idle]


def _close(servers: list[ForkServer]) -> None:
    for server in servers:
        server.close()


@atexit.register
def _close_all() -> None:
    with _lock:
        servers = [entry.server for entry in _entries]
        _entries.clear()
    _close(servers)
