"""Module-level steps, importable by child processes (subprocess tests use them)."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import time

from flowyml import Context, Pipeline, step


@step(outputs=["numbers"])
def produce(n: int) -> list[int]:
    print(f"producing {n}")
    return list(range(n))


@step(inputs=["numbers"], outputs=["total"])
def add_up(numbers: list[int]) -> int:
    return sum(numbers)


@step(inputs=["total"], outputs=["doubled"])
def double(total: int) -> int:
    return total * 2


@step(inputs=["numbers"], outputs=["never"])
def explode(numbers):
    raise ValueError(f"cannot handle {len(numbers)} numbers")


@step(inputs=["numbers"], outputs=["never"])
def segfault(numbers):
    ctypes.string_at(0)


@step(inputs=["numbers"], outputs=["never"])
def hard_exit(numbers):
    os._exit(3)


@step(inputs=["numbers"], outputs=["never"], timeout=1.0)
def spawn_and_hang(numbers, pid_file: str):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    with open(pid_file, "w") as handle:
        handle.write(str(child.pid))
    time.sleep(120)


@step(outputs=["a", "b"], execution_group="pair")
def pair_first() -> tuple[int, int]:
    return 1, 2


@step(inputs=["a", "b"], outputs=["c"], execution_group="pair")
def pair_second(a: int, b: int) -> int:
    return a + b


chain = Pipeline("chain", steps=[produce, add_up, double], context=Context(n=10))
failing = Pipeline("failing", steps=[produce, explode], context=Context(n=10))
grouped = Pipeline("grouped", steps=[pair_first, pair_second])


@step(outputs=["approved"])
def approve() -> bool:
    time.sleep(0.2)  # slower than `publish` would take to start: the edge must order them
    return True


@step(outputs=["published"], condition=lambda approved: approved)
def publish() -> str:
    return "out"


gated = Pipeline("gated", steps=[publish, approve])


@step(outputs=["released"])
def wait_for_release_printing(release: str) -> bool:
    """Prints two lines, waits until the file ``release`` exists, prints a last one."""
    from pathlib import Path

    print("first line")
    print("second", end="")
    print(" line", flush=True)
    deadline = time.monotonic() + 60
    while not Path(release).exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    print("last line")
    return True
