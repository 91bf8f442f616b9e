"""Adapter for Dask's threaded scheduler (``dask`` from PyPI): the floor, not a pipeline tool.

* Steps are ``dask.delayed`` calls of the shared bodies, computed with
  ``dask.compute(..., scheduler="threads")`` (``dask.threaded.get``: a thread pool in this
  process). There is no run record, no artifact store and no cache: the numbers are what
  it costs merely to build a task graph and schedule it, a floor for any orchestrator.
* W2 sizes the pool to the fan-out width (``num_workers=64``); W1, W4 and W6 use the
  default pool (one thread per CPU).
* W3 is not expressible: the threaded scheduler keeps nothing between runs.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import bodies
import harness

PACKAGE = "dask"
DISTRIBUTIONS = ("dask", "numpy")


def isolate(home: Path) -> None:
    """Nothing beyond the harness: the threaded scheduler keeps no state on disk."""


def _compute(value: Any, **options: Any) -> Any:
    import dask

    (result,) = dask.compute(value, scheduler="threads", **options)
    return result


def warmup() -> dict[str, float] | None:
    """A one-task graph."""
    from dask import delayed

    _compute(delayed(bodies.source)())
    return None


def chain(n: int, variant: str) -> int:
    """W1: `n` chained delayed ``increment`` calls."""
    from dask import delayed

    if variant != "default":
        raise harness.Unsupported(f"unknown variant {variant}")
    increment = delayed(bodies.increment)
    value = delayed(bodies.source)()
    for _ in range(n):
        value = increment(value)
    return int(_compute(value))


def _fan_in(width: int, body: Any, **options: Any) -> int:
    from dask import delayed

    branches = [delayed(body)(k) for k in range(width)]
    return int(_compute(delayed(bodies.total)(branches), **options))


def fanout(width: int, variant: str) -> int:
    """W2: 64 delayed ``nap`` calls on 64 threads, then the join."""
    if variant != "default":
        raise harness.Unsupported(f"unknown variant {variant}")
    return _fan_in(width, bodies.nap, num_workers=width)


def wide_fanout(width: int, variant: str) -> int:
    """W6: `width` delayed ``echo`` calls on the default pool, then the join."""
    if variant != "default":
        raise harness.Unsupported(f"unknown variant {variant}")
    return _fan_in(width, bodies.echo)


def cached_chain(incs: Sequence[int], variant: str) -> int:
    """W3: not expressible (no results kept between runs)."""
    raise harness.Unsupported("a scheduler: keeps no results between runs")


def array_pass(variant: str) -> float:
    """W4: producer and consumer; the array stays in memory."""
    from dask import delayed

    if variant != "default":
        raise harness.Unsupported(f"unknown variant {variant}")
    return float(_compute(delayed(bodies.array_sum)(delayed(bodies.make_array)())))


if __name__ == "__main__":
    raise SystemExit(harness.main(sys.modules[__name__]))
