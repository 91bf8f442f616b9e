"""Pipelines of the Dask fault tests (imported by the workers too: tests/dask is on their
PYTHONPATH)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from flowyml import Pipeline, RetryPolicy, step

_ONCE = RetryPolicy(max_retries=1, backoff=0.0, jitter=0.0)


def _worker_name() -> str:
    from distributed import get_worker

    return str(get_worker().name)


@step(outputs=["where"], retry=_ONCE)
def doomed(probe_dir: str) -> str:
    """Notes its worker's pid; the first attempt sleeps until the test kills that worker."""
    from distributed import get_worker

    notes = Path(probe_dir)
    (notes / f"attempt-{os.getpid()}").write_text(str(get_worker().address))
    if len(list(notes.glob("attempt-*"))) == 1:
        time.sleep(120)
    return str(get_worker().address)


killed_worker = Pipeline("dask-killed-worker", steps=[doomed])


@step(outputs=["hoard"])
def hog() -> int:
    """Allocates until its worker's nanny restarts the worker for memory."""
    hoard = []
    for _ in range(400):
        hoard.append(bytearray(16 * 2**20))
        time.sleep(0.02)
    return len(hoard)


memory_hog = Pipeline("dask-memory-hog", steps=[hog])


@step(outputs=["device"], resources={"gpu": 1})
def on_gpu() -> str:
    return _worker_name()


gpu_routed = Pipeline("dask-gpu", steps=[on_gpu])


@step(outputs=["devices"], resources={"gpu": 2})
def on_two_gpus() -> str:
    return _worker_name()


two_gpus = Pipeline("dask-two-gpus", steps=[on_two_gpus])


def _branch(i: int) -> object:
    def where() -> str:
        time.sleep(0.05)
        return _worker_name()

    return step(name=f"b{i}", outputs=[f"w{i}"], cache=False)(where)


for _i in range(64):
    globals()[f"b{_i}"] = _branch(_i)


@step(inputs=[f"w{i}" for i in range(64)], outputs=["workers"], cache=False)
def gather(*names: str) -> list[str]:
    return sorted(set(names))


fan_out = Pipeline("dask-fan-out", steps=[*(globals()[f"b{i}"] for i in range(64)), gather])


@step(outputs=["slept"])
def nap(probe_dir: str) -> int:
    """Notes its pid, then sleeps until the run is stopped."""
    print("napping", flush=True)
    (Path(probe_dir) / "nap").write_text(str(os.getpid()))
    time.sleep(120)
    return 1


sleepy = Pipeline("dask-sleepy", steps=[nap])


def _note(probe_dir: str, name: str) -> None:
    """Note the pid and thread running a step: ``PID THREAD_IDENT``."""
    (Path(probe_dir) / name).write_text(f"{os.getpid()} {threading.get_ident()}")


@step(outputs=["spun"], timeout=1)
def spin(probe_dir: str) -> int:
    """Runs Python code far past its one-second timeout."""
    _note(probe_dir, "spin")
    end = time.monotonic() + 600
    while time.monotonic() < end:
        time.sleep(0.01)
    return 1


spinning = Pipeline("dask-spinning", steps=[spin])


@step(outputs=["blocked"], timeout=1)
def block(probe_dir: str) -> int:
    """Blocked in C code (one long sleep) far past its one-second timeout."""
    _note(probe_dir, "block")
    time.sleep(600)
    return 1


blocking = Pipeline("dask-blocking", steps=[block])


def thread_alive(ident: int) -> bool:
    """Whether thread ``ident`` runs in this process (run on the workers)."""
    return any(thread.ident == ident for thread in threading.enumerate())


BURN_SECONDS = 0.5


@step(outputs=["burned"])
def burn() -> float:
    """Uses half a second of its thread's CPU time."""
    start = time.thread_time()
    while time.thread_time() - start < BURN_SECONDS:
        pass
    return BURN_SECONDS


burner = Pipeline("dask-burner", steps=[burn])
