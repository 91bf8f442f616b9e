"""Pipelines the docker tests run; this folder is the project copied into the test image."""

from __future__ import annotations

import ctypes
import os
import sys
import time

from flowyml import Context, Pipeline, ResourceConfig, step


@step(outputs=["numbers"])
def numbers(count: int) -> list[int]:
    """The input numbers."""
    print(f"making {count} numbers")
    return list(range(count))


@step(inputs=["numbers"], outputs=["squares"])
def squares(numbers: list[int]) -> list[int]:
    """Each number squared."""
    return [n * n for n in numbers]


@step(inputs=["numbers"], outputs=["mean"])
def mean(numbers: list[int]) -> float:
    """The mean, on a branch of its own (runs beside `squares`)."""
    return sum(numbers) / len(numbers)


@step(inputs=["squares", "mean"], outputs=["summary"])
def summary(squares: list[int], mean: float) -> dict[str, float]:
    """Both branches joined."""
    return {"sum_of_squares": sum(squares), "mean": mean}


demo = Pipeline("docker-demo", steps=[numbers, squares, mean, summary], context=Context(count=10))


@step(outputs=["never"])
def explode() -> int:
    """Fails with a recognisable error."""
    raise ValueError("boom from inside the container")


failing = Pipeline("docker-failing", steps=[explode])


@step(outputs=["size"], resources=ResourceConfig(memory="48Mi"))
def hog() -> int:
    """Touches far more memory than its limit allows."""
    blocks = [bytearray(8 * 1024 * 1024) for _ in range(64)]
    for block in blocks:
        block[::4096] = b"x" * len(block[::4096])
    return len(blocks)


greedy = Pipeline("docker-greedy", steps=[hog])


@step(outputs=["slept"])
def nap(seconds: float) -> float:
    """Sleeps, printing a line first so tests can wait until it runs."""
    print("napping", flush=True)
    time.sleep(seconds)
    return seconds


@step(inputs=["slept"], outputs=["after"])
def after_nap(slept: float) -> float:
    """Never reached when the run is stopped during the nap."""
    return slept * 2


sleepy = Pipeline("docker-sleepy", steps=[nap, after_nap], context=Context(seconds=60.0))


@step(outputs=["token_length"])
def use_token() -> int:
    """Reads a secret from the environment and (carelessly) prints it."""
    token = os.environ["FLOWYML_TEST_TOKEN"]
    print(f"the token is {token}")
    return len(token)


secretive = Pipeline("docker-secretive", steps=[use_token])


@step(outputs=["left"])
def left(seconds: float) -> float:
    """One of two independent naps."""
    time.sleep(seconds)
    return seconds


@step(outputs=["right"])
def right(seconds: float) -> float:
    """The other independent nap."""
    time.sleep(seconds)
    return seconds


pair = Pipeline("docker-pair", steps=[left, right], context=Context(seconds=1.0))


@step(outputs=["base"])
def base_value() -> int:
    return 41


@step(inputs=["base"], outputs=["answer"])
def maybe_fail(base: int, fail: bool) -> int:
    if fail:
        raise RuntimeError("asked to fail")
    return base + 1


resumable = Pipeline("docker-resumable", steps=[base_value, maybe_fail])


@step(outputs=["given"])
def give() -> int:
    return 1


@step(inputs=["given"], outputs=["taken"])
def misbehave(given: int, fault: str) -> int:
    """Fails the way ``fault`` names; ``hang`` prints a line first, so tests can wait for it."""
    if fault == "raise":
        raise RuntimeError("the step broke inside its container")
    if fault == "exit0":
        sys.exit(0)
    if fault == "exit3":
        sys.exit(3)
    if fault == "os_exit":
        os._exit(7)
    if fault == "segfault":
        ctypes.string_at(0)
    if fault == "hang":
        print("hanging", flush=True)
        time.sleep(120)
    return given + 1


@step(inputs=["taken"], outputs=["kept"])
def keep(taken: int) -> int:
    """Never reached when ``misbehave`` fails."""
    return taken * 10


faulty = Pipeline("docker-faulty", steps=[give, misbehave, keep], context=Context(fault="none"))


@step(outputs=["late"], timeout=1)
def overrun() -> int:
    """Sleeps far past its one-second timeout."""
    print("overrunning", flush=True)
    time.sleep(120)
    return 0


overrunning = Pipeline("docker-overrunning", steps=[overrun])


MEGABYTE = 1024 * 1024
HELD = 300 * MEGABYTE
CPU_SECONDS = 1.0


def hold_and_burn(size: int, cpu_seconds: float) -> int:
    """Make ``size`` bytes resident (every page touched), and use ``cpu_seconds`` of this
    thread's CPU time, counted from the start."""
    start = time.thread_time()
    block = bytearray(size)
    for offset in range(0, size, 4096):
        block[offset] = 1
    while time.thread_time() - start < cpu_seconds:
        pass
    return len(block)


@step(outputs=["held"])
def heavy() -> int:
    """300 MB resident and 1 s of CPU time."""
    return hold_and_burn(HELD, CPU_SECONDS)


@step(outputs=["held"])
def light() -> int:
    """Next to nothing: what a step's container costs before the step does anything."""
    return hold_and_burn(0, 0.0)


usage_heavy = Pipeline("docker-usage-heavy", steps=[heavy])
usage_light = Pipeline("docker-usage-light", steps=[light])


@step(outputs=["held"], execution_group="usage-pair")
def heavy_first() -> int:
    """300 MB, in the first step of a group of two in one container."""
    return hold_and_burn(HELD, 0.2)


@step(inputs=["held"], outputs=["passed_on"], execution_group="usage-pair")
def light_after(held: int) -> int:
    """Next to nothing, after ``heavy_first`` in the same container."""
    return held


usage_pair = Pipeline("docker-usage-pair", steps=[heavy_first, light_after])


@step(outputs=["held"], resources=ResourceConfig(memory="256Mi"))
def limited() -> int:
    """Next to nothing, under a memory limit."""
    return hold_and_burn(0, 0.0)


usage_limited = Pipeline("docker-usage-limited", steps=[limited])
