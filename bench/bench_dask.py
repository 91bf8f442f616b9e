"""Benchmarks of the ``dask`` backend against the same work submitted directly to Dask.

One scheduler and two worker processes on 127.0.0.1 serves both sides of every pair, so
the floor (``client.submit`` of the same functions, no flowyml) and the ``dask`` backend
are measured side by side, alternating, in one run:

- ``wide``: N independent trivial steps plus a join over all of them (N=10,000);
  per-step overhead = wall time / N; target: within 2x of the floor.
- ``sleeps``: 64 steps sleeping 0.1 s, on workers of one thread; target: within 1.2x.

Figures are medians with their min-max spread over ``--repeat`` runs.

    python bench/bench_dask.py [--repeat 3] [--steps 10000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

STEPS_MODULE = textwrap.dedent(
    """
    import time
    from flowyml import Pipeline, step

    N = {n}

    def one():
        return 1

    def nap():
        time.sleep(0.1)
        return 1

    def join(*parts):
        return sum(parts)

    for _i in range(N):
        globals()[f"s{{_i}}"] = step(name=f"s{{_i}}", outputs=[f"o{{_i}}"], cache=False)(one)
    total = step(
        name="total", inputs=[f"o{{i}}" for i in range(N)], outputs=["total"], cache=False
    )(join)
    wide = Pipeline("wide", steps=[globals()[f"s{{i}}"] for i in range(N)] + [total])

    for _i in range(64):
        globals()[f"n{{_i}}"] = step(name=f"n{{_i}}", outputs=[f"z{{_i}}"], cache=False)(nap)
    slept = step(
        name="slept", inputs=[f"z{{i}}" for i in range(64)], outputs=["slept"], cache=False
    )(join)
    sleeps = Pipeline("sleeps", steps=[globals()[f"n{{i}}"] for i in range(64)] + [slept])
    """
)


def _spread(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def _floor(address: str, module: Any, fn: str, n: int) -> float:
    from distributed import Client

    # A client of its own, closed before the backend's run opens one.
    client = Client(address, set_as_default=False)
    client.wait_for_workers(2, timeout=60)
    start = time.perf_counter()
    parts = [client.submit(getattr(module, fn), pure=False) for _ in range(n)]
    total = client.submit(module.join, *parts, pure=False).result()
    elapsed = time.perf_counter() - start
    client.close()
    assert total == n, total
    return elapsed


def _ours(pipeline: Any, address: str, expected: int, output: str) -> float:
    start = time.perf_counter()
    run = pipeline.run("bench", context={}, echo_logs=False)
    elapsed = time.perf_counter() - start
    assert run.success, run.error
    assert run.outputs[output] == expected
    return elapsed


class _Cluster:
    """``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1."""

    def __init__(self, threads: int) -> None:
        import socket
        import subprocess

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.scheduler_address = f"tcp://127.0.0.1:{port}"
        dask = str(Path(sys.executable).with_name("dask"))
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        self.processes = [
            subprocess.Popen(
                [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                **quiet,
            )
        ]
        for _ in range(2):
            self.processes.append(
                subprocess.Popen(
                    [
                        dask,
                        "worker",
                        self.scheduler_address,
                        "--host",
                        "127.0.0.1",
                        "--nthreads",
                        str(threads),
                        "--no-dashboard",
                    ],
                    **quiet,
                )
            )

    def close(self) -> None:
        for process in reversed(self.processes):
            process.terminate()
        for process in self.processes:
            process.wait()


def _cluster(threads: int) -> _Cluster:
    return _Cluster(threads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="flowyml-bench-dask-"))
    (folder / "dask_bench_steps.py").write_text(STEPS_MODULE.format(n=args.steps))
    (folder / "flowyml.yaml").write_text(
        "stacks:\n  bench:\n    backend: dask\n    cache: false\n"
        "    settings: {address: ADDRESS, max_in_flight: 256, echo_logs: false}\n"
    )
    os.chdir(folder)
    sys.path.insert(0, str(folder))
    os.environ["PYTHONPATH"] = os.pathsep.join([str(folder), *sys.path])  # the workers
    import dask_bench_steps as module

    config = (folder / "flowyml.yaml").read_text()
    figures: dict[str, dict[str, list[float]]] = {}
    # One cluster for both (the project's configuration is read once per process); workers
    # of one thread, so that 64 sleeps of 0.1 s take 3.2 s on either side.
    cluster = _cluster(1)
    (folder / "flowyml.yaml").write_text(config.replace("ADDRESS", cluster.scheduler_address))
    for name, fn, pipeline, output, n in (
        ("sleeps", "nap", module.sleeps, "slept", 64),
        ("wide", "one", module.wide, "total", args.steps),
    ):
        floor, ours = [], []
        _floor(
            cluster.scheduler_address, module, fn, min(n, 500)
        )  # warm both sides: imports, connections
        _ours(pipeline, cluster.scheduler_address, n, output) if n <= 64 else None
        for _ in range(args.repeat):
            floor.append(_floor(cluster.scheduler_address, module, fn, n))
            ours.append(_ours(pipeline, cluster.scheduler_address, n, output))
        figures[name] = {"floor": floor, "dask": ours}
        f, o = _spread(floor), _spread(ours)
        per = 1e6 / n
        print(
            f"{name:7s} n={n:<6d} floor {f['median']:.2f} s ({f['min']:.2f}-{f['max']:.2f}, "
            f"{f['median'] * per:.0f} us/step)   dask {o['median']:.2f} s "
            f"({o['min']:.2f}-{o['max']:.2f}, {o['median'] * per:.0f} us/step)   "
            f"ratio {o['median'] / f['median']:.2f}x",
            flush=True,
        )

    cluster.close()


if __name__ == "__main__":
    main()
