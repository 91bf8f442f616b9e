"""Adapter for Prefect 3 (``prefect>=3,<4`` from PyPI), driven through its own API.

* Steps are ``prefect.task(body, ...)`` around the shared bodies, called from a
  ``@flow``-decorated function; sequential chains call tasks directly, W2 uses
  ``.submit()`` on a ``ThreadPoolTaskRunner(max_workers=64)`` and passes the list of futures
  to the join task (Prefect resolves them).  Variant ``default_workers`` keeps the runner's
  default pool size (``min(32, cpus + 4)`` threads).
* No server is reachable, so the client starts Prefect's *ephemeral* API server (a uvicorn
  subprocess on 127.0.0.1 with a SQLite database under ``PREFECT_HOME``).  The harness'
  warm-up flow pays for that start-up and is reported separately as ``startup_s``.
  Analytics are off (no network); the start-up timeout is raised from 20 s to 120 s.
* Observed with 3.9.1: a flow call returns only when its heartbeat thread (a loop of
  ``time.sleep(1)``) has been joined, so run times are rounded up to roughly whole seconds
  (+~0.1 s); ``body_s`` (time inside the ``@flow`` function) is reported beside them.
* W6 submits its 1,000 ``echo`` tasks with ``.submit()`` to the flow's default
  ``ThreadPoolTaskRunner`` (``min(32, cpus + 4)`` threads) and joins on the futures.
* W1/W2/W4/W6 run with ``cache_policy=NO_CACHE`` (caching off; variant ``default_policy`` of
  W4 keeps Prefect's default policy, which hashes task inputs on every call).  W3 uses
  ``cache_policy=INPUTS + TASK_SOURCE``, ``persist_result=True`` and the default local
  result storage pointed at the scratch directory (``PREFECT_RESULTS_LOCAL_STORAGE_PATH``;
  an unsaved ``LocalFileSystem`` block is rejected by Prefect 3.9).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import bodies
import harness

PACKAGE = "prefect"
DISTRIBUTIONS = ("prefect", "numpy")
_STARTED: list[bool] = []


def isolate(home: Path) -> None:
    """Per-measurement PREFECT_HOME and ephemeral-server settings (before importing prefect)."""
    os.environ.pop("PREFECT_API_URL", None)
    os.environ.update(
        {
            "PREFECT_HOME": str(home / ".prefect"),
            "PREFECT_SERVER_EPHEMERAL_ENABLED": "true",
            "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_RESULTS_LOCAL_STORAGE_PATH": str(home / "results"),
        }
    )


def _task(fn: Any, **options: Any) -> Any:
    """`prefect.task` around a shared body; caching off unless `options` say otherwise."""
    from prefect import task
    from prefect.cache_policies import NO_CACHE

    options.setdefault("cache_policy", NO_CACHE)
    return task(fn, **options)


@contextlib.contextmanager
def _body_timer() -> Iterator[None]:
    """Report the time spent inside the ``@flow`` function as ``body_s``."""
    start = time.perf_counter()
    try:
        yield
    finally:
        harness.note("body_s", time.perf_counter() - start)


def warmup() -> dict[str, float] | None:
    """One-task flow; the first call also starts the ephemeral API server (timed apart)."""
    from prefect import flow
    from prefect.client.orchestration import get_client

    extra = None
    if not _STARTED:
        _STARTED.append(True)
        _, server_start_s = harness.timed(lambda: _healthcheck(get_client))
        extra = {"server_start_s": server_start_s}
    source = _task(bodies.source)

    @flow(name="warmup")
    def warmup_flow() -> int:
        return int(source())

    warmup_flow()
    return extra


def _healthcheck(get_client: Any) -> None:
    """Talk to the API once, which starts the ephemeral server and migrates its database."""
    with get_client(sync_client=True) as client:
        error = client.api_healthcheck()
    if error is not None:
        raise RuntimeError(f"Prefect API health check failed: {error}")


def chain(n: int, variant: str) -> int:
    """W1: tasks called directly, one after the other."""
    from prefect import flow

    if variant != "default":
        raise harness.Unsupported(f"unknown variant {variant}")
    source, increment = _task(bodies.source), _task(bodies.increment)

    @flow(name="chain")
    def chain_flow(n: int) -> int:
        with _body_timer():
            value = source()
            for _ in range(n):
                value = increment(value)
            return int(value)

    return int(chain_flow(n))


def fanout(width: int, variant: str) -> int:
    """W2: ``.submit()`` on a thread-pool task runner, join on the futures."""
    from prefect import flow
    from prefect.task_runners import ThreadPoolTaskRunner

    if variant not in ("default", "default_workers"):
        raise harness.Unsupported(f"unknown variant {variant}")
    runner: Any = ThreadPoolTaskRunner(max_workers=width if variant == "default" else None)
    nap, total = _task(bodies.nap), _task(bodies.total)

    @flow(name="fanout", task_runner=runner)
    def fanout_flow(width: int) -> int:
        with _body_timer():
            futures = [nap.submit(k) for k in range(width)]
            return int(total(futures))

    return int(fanout_flow(width))


def wide_fanout(width: int, variant: str) -> int:
    """W6: ``.submit()`` on the default thread-pool task runner, join on the futures."""
    from prefect import flow

    if variant != "default":
        raise harness.Unsupported(f"unknown variant {variant}")
    echo, total = _task(bodies.echo), _task(bodies.total)

    @flow(name="wide-fanout")
    def wide_flow(width: int) -> int:
        with _body_timer():
            futures = [echo.submit(k) for k in range(width)]
            return int(total(futures))

    return int(wide_flow(width))


def cached_chain(incs: Sequence[int], variant: str) -> int:
    """W3: INPUTS + TASK_SOURCE cache policy, results persisted to ``<home>/results``."""
    from prefect import flow
    from prefect.cache_policies import INPUTS, TASK_SOURCE

    if variant != "default":
        raise harness.Unsupported(f"unknown variant {variant}")
    options = {"cache_policy": INPUTS + TASK_SOURCE, "persist_result": True}
    source, add = _task(bodies.source, **options), _task(bodies.add, **options)

    @flow(name="cached-chain")
    def cached_chain_flow(incs: list[int]) -> int:
        with _body_timer():
            value = source()
            for inc in incs[1:]:
                value = add(value, inc)
            return int(value)

    return int(cached_chain_flow(list(incs)))


def array_pass(variant: str) -> float:
    """W4: producer and consumer tasks; results stay in memory (not persisted)."""
    from prefect import flow, task

    if variant == "default":
        make, consume = _task(bodies.make_array), _task(bodies.array_sum)
    elif variant == "default_policy":
        make, consume = task(bodies.make_array), task(bodies.array_sum)
    else:
        raise harness.Unsupported(f"unknown variant {variant}")

    @flow(name="array")
    def array_flow() -> float:
        with _body_timer():
            return float(consume(make()))

    return float(array_flow())


if __name__ == "__main__":
    raise SystemExit(harness.main(sys.modules[__name__]))
