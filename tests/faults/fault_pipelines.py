"""Pipelines whose steps fail in every way a user can meet, chosen by the `fault` parameter.

Where ``FLOWYML_FAULTS_PIDS`` names a folder, each step that can hang writes its process
id there first, so a test can check afterwards that no step process was left running.
The vertex_ai suite copies this file into its test project, so into the jobs' image.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time
from pathlib import Path

from flowyml import Context, Pipeline, step


def _note_pid(name: str) -> None:
    folder = os.environ.get("FLOWYML_FAULTS_PIDS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / name).write_text(str(os.getpid()))


@step(outputs=["a"])
def produce() -> int:
    return 1


@step(inputs=["a"], outputs=["b"])
def misbehave(a: int, fault: str = "none") -> int:
    _note_pid("misbehave")
    print(f"misbehave: {fault}", flush=True)  # the step code runs: seen in the job's log
    if fault == "raise":
        raise RuntimeError("the step broke")
    if fault == "exit0":
        sys.exit(0)
    if fault == "exit3":
        sys.exit(3)
    if fault == "keyboard":
        raise KeyboardInterrupt
    if fault == "os_exit":
        os._exit(7)
    if fault == "segfault":
        ctypes.string_at(0)
    if fault == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    if fault == "hang":
        time.sleep(120)
    return a + 1


@step(inputs=["b"], outputs=["c"])
def consume(b: int) -> int:
    return b * 10


@step(outputs=["d"], timeout=1)
def overrun() -> int:
    _note_pid("overrun")
    time.sleep(120)
    return 0


faulty = Pipeline("faulty", steps=[produce, misbehave, consume], context=Context(fault="none"))
timeout = Pipeline("timeout", steps=[overrun])


@step(outputs=["w1"])
def wait_one() -> int:
    _note_pid("wait_one")
    time.sleep(120)
    return 1


@step(outputs=["w2"])
def wait_two() -> int:
    _note_pid("wait_two")
    time.sleep(120)
    return 2


hanging = Pipeline("hanging", steps=[wait_one, wait_two])


def _link(i: int, fail_at: int) -> object:
    def body(prev: int = 0, fail_at: int = fail_at) -> int:
        if i == fail_at:
            raise RuntimeError(f"link {i} broke")
        return prev + 1

    inputs = [f"x{i - 1}"] if i else []
    return step(name=f"link{i}", inputs=inputs, outputs=[f"x{i}"])(body)


def long_chain(length: int, fail_at: int) -> Pipeline:
    """A chain of ``length`` steps whose step ``fail_at`` raises."""
    return Pipeline("chain", steps=[_link(i, fail_at) for i in range(length)])  # type: ignore[misc]


@step(outputs=["fan"])
def fan_source() -> list[int]:
    return list(range(100))


@step(inputs=["fan"], outputs=["total"])
def fan_total(fan: list[int], scale: int = 1) -> int:
    time.sleep(0.2)
    return sum(fan) * scale


shared = Pipeline("shared", steps=[fan_source, fan_total], context=Context(scale=1))


@step(outputs=["small"])
def small_output() -> int:
    return 7


@step(inputs=["small"], outputs=["big"])
def big_output(small: int, megabytes: int = 8) -> bytes:
    return bytes([small]) * (megabytes * 1024 * 1024)


@step(inputs=["big"], outputs=["size"])
def measure(big: bytes, unit: int = 1) -> int:
    return len(big) // unit


storage = Pipeline("storage", steps=[small_output, big_output, measure], context=Context())
