"""ZenML steps around the shared bodies, and W2's dynamic pipeline (used by `tool_zenml`).

ZenML records each step, and each dynamic pipeline, by its import path and loads it again
from there when it runs, so they must be module-level objects of an importable module; this
is that module. It imports ``zenml`` at import time, which is why the adapter imports it
only after it has isolated the process.
"""

from __future__ import annotations

import bodies
import numpy as np
from zenml import pipeline, step


@step
def source() -> int:
    """`bodies.source`."""
    return bodies.source()


@step
def increment(x: int) -> int:
    """`bodies.increment`."""
    return bodies.increment(x)


@step
def add(x: int, inc: int) -> int:
    """`bodies.add` (``inc`` is a step parameter, so it is part of the cache key)."""
    return bodies.add(x, inc)


@step
def nap(i: int) -> int:
    """`bodies.nap`."""
    return bodies.nap(i)


@step
def echo(i: int) -> int:
    """`bodies.echo`."""
    return bodies.echo(i)


@step
def total(values: list[int]) -> int:
    """`bodies.total` over a list of upstream artifacts (ZenML's fan-in)."""
    return bodies.total(values)


@step
def make_array() -> np.ndarray:
    """`bodies.make_array` (stored by ZenML's NumPy materializer)."""
    return bodies.make_array()


@step
def array_sum(a: np.ndarray) -> float:
    """`bodies.array_sum`."""
    return bodies.array_sum(a)


@pipeline(name="fanout", enable_cache=False, dynamic=True)
def fanout_dynamic(width: int) -> None:
    """W2: `width` ``nap`` steps submitted to the runner's thread pool, then the join."""
    futures = [nap.submit(k, id=f"b{k}") for k in range(width)]
    total([future.load() for future in futures], id="join")
