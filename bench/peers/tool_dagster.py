"""Adapter for Dagster (``dagster`` from PyPI, no other Dagster package), through its own API.

* Steps are ``@op``s around the shared bodies, composed in a ``@job``; each op invocation
  is an ``alias`` (``inc1``, ``nap7``, ...). Per-op parameters (W2/W6's index) are op
  config (``config_schema={"i": int}``) passed in the run config; the W2/W6 join is a
  fan-in input (a list of the upstream outputs).
* Runs are recorded in a persistent instance: ``DAGSTER_HOME`` is ``<home>/.dagster``, with
  its default SQLite run and event-log storage, as ``dagster dev`` would use. No daemon,
  no webserver. The warm-up run pays the instance's database creation.
* ``execute_in_process`` (in-process executor: one op at a time, outputs in memory) runs
  W1, W4 and W6, and W2's variant ``in_process``.
* W2 ``default`` is the ``multiprocess_executor``, started with ``execute_job`` on a
  ``reconstructable`` job (that executor needs both): every op runs in a child process,
  ``max_concurrent`` = the fan-out width, start method ``forkserver`` (its children fork
  from a server that has imported Dagster and this module once); outputs go through the
  default ``fs_io_manager`` (pickles under ``DAGSTER_HOME/storage``). W6's variant
  ``multiprocess`` does the same for 1,000 ops.
* W3 is not expressible: Dagster 1.13 does not reuse op results across runs (there is no
  memoization of ops; re-executing a subset of a run is a manual step selection).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import bodies
import harness

PACKAGE = "dagster"
DISTRIBUTIONS = ("dagster", "numpy")
PEERS_DIR = str(Path(__file__).resolve().parent)


def isolate(home: Path) -> None:
    """A fresh ``DAGSTER_HOME``; child processes must find ``bodies`` and this module."""
    dagster_home = home / ".dagster"
    dagster_home.mkdir(parents=True, exist_ok=True)
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    os.environ["PYTHONPATH"] = PEERS_DIR


def _instance() -> Any:
    from dagster import DagsterInstance

    return DagsterInstance.get()


def _ops() -> dict[str, Any]:
    """The op definitions, one per shared body (built lazily: dagster imports after isolate)."""
    if _OPS:
        return _OPS
    from dagster import op

    @op
    def source() -> int:
        return bodies.source()

    @op
    def increment(x: int) -> int:
        return bodies.increment(x)

    @op(config_schema={"i": int})
    def nap(context) -> int:  # type: ignore[no-untyped-def]  # blank, or Dagster rejects it
        return bodies.nap(context.op_config["i"])

    @op(config_schema={"i": int})
    def echo(context) -> int:  # type: ignore[no-untyped-def]  # blank, or Dagster rejects it
        return bodies.echo(context.op_config["i"])

    @op
    def total(values: list[int]) -> int:
        return bodies.total(values)

    @op
    def make_array() -> Any:
        return bodies.make_array()

    @op
    def array_sum(a: Any) -> float:
        return bodies.array_sum(a)

    _OPS.update(
        source=source,
        increment=increment,
        nap=nap,
        echo=echo,
        total=total,
        make_array=make_array,
        array_sum=array_sum,
    )
    return _OPS


_OPS: dict[str, Any] = {}


def _run_in_process(job: Any, run_config: dict[str, Any] | None = None) -> Any:
    result = job.execute_in_process(run_config=run_config or {}, instance=_instance())
    if not result.success:
        raise RuntimeError(f"dagster run {result.run_id} failed")
    return result


def warmup() -> dict[str, float] | None:
    """One-op job, in process (the first call creates the instance's SQLite storage)."""
    from dagster import job

    ops = _ops()

    @job(name="warmup")
    def warmup_job() -> None:
        ops["source"]()

    _run_in_process(warmup_job)
    return None


def chain(n: int, variant: str) -> int:
    """W1: ``source`` then `n` aliased ``increment`` ops, in process."""
    from dagster import job

    if variant != "default":
        raise harness.Unsupported(f"unknown variant {variant}")
    ops = _ops()

    @job(name="chain")
    def chain_job() -> None:
        value = ops["source"]()
        for i in range(1, n + 1):
            value = ops["increment"].alias(f"inc{i}")(value)

    return int(_run_in_process(chain_job).output_for_node(f"inc{n}"))


def _fan_in_job(name: str, width: int, body: str) -> Any:
    """`width` aliased `body` ops (config ``i``), then the ``total`` fan-in op."""
    from dagster import job

    ops = _ops()

    @job(name=name)
    def fan_in_job() -> None:
        ops["total"]([ops[body].alias(f"{body}{k}")() for k in range(width)])

    return fan_in_job


def fanout_job() -> Any:
    """W2's job at module scope, so that ``reconstructable`` can rebuild it in a child."""
    return _fan_in_job("fanout", bodies.FANOUT_WIDTH, "nap")


def wide_fanout_job() -> Any:
    """W6's job at module scope, so that ``reconstructable`` can rebuild it in a child."""
    return _fan_in_job("wide_fanout", bodies.WIDE_WIDTH, "echo")


def _fan_in_config(width: int, body: str) -> dict[str, Any]:
    return {"ops": {f"{body}{k}": {"config": {"i": k}} for k in range(width)}}


def _run_multiprocess(job_fn: Any, width: int, body: str) -> int:
    """Run `job_fn`'s job on the multiprocess executor and load the join's output."""
    from dagster import execute_job, reconstructable

    run_config = _fan_in_config(width, body)
    run_config["execution"] = {
        "config": {"multiprocess": {"max_concurrent": width, "start_method": {"forkserver": {}}}}
    }
    with execute_job(reconstructable(job_fn), _instance(), run_config=run_config) as result:
        if not result.success:
            raise RuntimeError(f"dagster run {result.run_id} failed")
        return int(result.output_for_node("total"))


def fanout(width: int, variant: str) -> int:
    """W2: multiprocess executor (default) or in-process executor (``in_process``)."""
    if width != bodies.FANOUT_WIDTH:
        raise harness.Unsupported(f"the reconstructable job is built for {bodies.FANOUT_WIDTH}")
    if variant == "default":
        return _run_multiprocess(fanout_job, width, "nap")
    if variant == "in_process":
        result = _run_in_process(fanout_job(), _fan_in_config(width, "nap"))
        return int(result.output_for_node("total"))
    raise harness.Unsupported(f"unknown variant {variant}")


def wide_fanout(width: int, variant: str) -> int:
    """W6: in-process executor (default) or multiprocess executor (``multiprocess``)."""
    if width != bodies.WIDE_WIDTH:
        raise harness.Unsupported(f"the reconstructable job is built for {bodies.WIDE_WIDTH}")
    if variant == "default":
        result = _run_in_process(wide_fanout_job(), _fan_in_config(width, "echo"))
        return int(result.output_for_node("total"))
    if variant == "multiprocess":
        return _run_multiprocess(wide_fanout_job, width, "echo")
    raise harness.Unsupported(f"unknown variant {variant}")


def cached_chain(incs: Any, variant: str) -> int:
    """W3: not expressible (no reuse of op results across runs)."""
    raise harness.Unsupported("no op memoization: every run re-executes every op")


def array_pass(variant: str) -> float:
    """W4: producer and consumer ops in process; the array stays in memory."""
    from dagster import job

    if variant != "default":
        raise harness.Unsupported(f"unknown variant {variant}")
    ops = _ops()

    @job(name="array")
    def array_job() -> None:
        ops["array_sum"](ops["make_array"]())

    return float(_run_in_process(array_job).output_for_node("array_sum"))


if __name__ == "__main__":
    raise SystemExit(harness.main(sys.modules[__name__]))
