"""Fixtures of the Dask tests: a real scheduler and two real workers on 127.0.0.1.

``dask scheduler`` and two ``dask worker`` processes (each with its nanny) are started for
the session, the second advertising ``GPU=1``; tests that break workers start a cluster
of their own. Without ``distributed`` the tests are skipped — except in CI (``CI=true``),
where that is a failure.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
if str(TESTS.parent) not in sys.path:
    sys.path.insert(0, str(TESTS.parent))  # cli_process, shared by the fault suites


def unavailable(reason: str) -> None:
    """Skip, or fail when CI=true: CI must run the Dask tests."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"Dask tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class DaskCluster:
    """A scheduler and its workers, each a process of its own (in its own session)."""

    address: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def client(self) -> object:
        from distributed import Client

        return Client(self.address, timeout=30, set_as_default=False)

    def add_worker(self, *options: str) -> subprocess.Popen[bytes]:
        process = _start("worker", self.address, "--host", "127.0.0.1", "--no-dashboard", *options)
        self.processes.append(process)
        return process

    def wait_for_workers(self, count: int, timeout: float = 60) -> None:
        client = self.client()
        try:
            client.wait_for_workers(count, timeout=timeout)  # type: ignore[attr-defined]
        finally:
            client.close()  # type: ignore[attr-defined]

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in self.processes:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _start(*args: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        # One attempt per task: a dead worker is the step's failure, its retry policy decides.
        "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0",
        "PYTHONPATH": os.pathsep.join([str(TESTS), *sys.path]),
    }
    dask = str(Path(sys.executable).with_name("dask"))
    return subprocess.Popen(
        [dask, *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def start_cluster(*workers: tuple[str, ...]) -> DaskCluster:
    """A scheduler on a free loopback port and one worker per option tuple."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        unavailable("distributed is not installed: pip install 'dask[distributed]'")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    cluster = DaskCluster(address)
    cluster.processes.append(
        _start("scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard")
    )
    try:
        for options in workers:
            cluster.add_worker(*options)
        cluster.wait_for_workers(len(workers))
    except BaseException:
        cluster.stop()
        raise
    return cluster


@pytest.fixture(scope="session")
def dask_cluster() -> Iterator[DaskCluster]:
    """Scheduler + two workers of two threads; the second advertises ``GPU=1``."""
    cluster = start_cluster(
        ("--nthreads", "2", "--name", "plain"),
        ("--nthreads", "2", "--name", "gpu", "--resources", "GPU=1"),
    )
    yield cluster
    cluster.stop()


@pytest.fixture
def own_cluster() -> Iterator[list[DaskCluster]]:
    """Clusters a test starts for itself (to break them); stopped after the test."""
    started: list[DaskCluster] = []
    yield started
    for cluster in started:
        cluster.stop()
