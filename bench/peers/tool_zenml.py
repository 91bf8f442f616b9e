"""Adapter for ZenML (``zenml[local]`` from PyPI), driven through its own API.

* Steps are module-level ``@step`` functions around the shared bodies, in
  `zenml_definitions` (ZenML loads a step again from its import path), called from a
  ``@pipeline`` function.
  Repeated calls of one step get ZenML's automatic invocation ids (``increment``,
  ``increment_2``, ...). The W2/W6 join takes the list of upstream outputs (ZenML's
  fan-in); W2/W6's index and W3's increment are step parameters.
* The default stack: local orchestrator, local artifact store, and the local SQLite store
  (no server). ``ZENML_CONFIG_PATH`` is ``<home>/.zenconfig``; analytics are off. The
  warm-up run pays for creating the store and the default stack.
* Every step output is stored by a materializer in the local artifact store and
  registered in the store, caching or not; W4's array by the NumPy materializer.
* The local orchestrator runs a (static) pipeline's steps one after the other, in process.
  W2 ``default`` is therefore a *dynamic* pipeline (``@pipeline(dynamic=True)``) whose
  ``nap.submit(k)`` calls run on the runner's thread pool, sized to the fan-out width
  (``ZENML_DYNAMIC_PIPELINE_WORKER_COUNT``, default 10); variant ``static`` is the static
  pipeline. W6 is a static pipeline.
* W1/W2/W4/W6 run with ``enable_cache=False``; W3 with ZenML's default cache
  (``enable_cache=True``: step code, parameters and input artifacts).

Observed with 0.98.0: W6 fails. The join step of a static pipeline cannot resolve its
inputs when it has 1,000 upstream steps (``InputResolutionError: No step `b0` found in
current run``); the same pipeline works with 100 upstream steps and fails with 400. The
table reports the failure as it is.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import harness

PACKAGE = "zenml"
DISTRIBUTIONS = ("zenml", "numpy")


def isolate(home: Path) -> None:
    """A fresh global config (and with it the SQLite store) under `home`; analytics off."""
    for name in [k for k in os.environ if k.startswith("ZENML_")]:
        del os.environ[name]
    os.environ.update(
        {
            "ZENML_CONFIG_PATH": str(home / ".zenconfig"),
            "ZENML_ANALYTICS_OPT_IN": "false",
            "ZENML_ENABLE_RICH_TRACEBACK": "false",
            "ZENML_LOGGING_VERBOSITY": "WARN",
            "AUTO_OPEN_DASHBOARD": "false",
        }
    )


def _steps() -> Any:
    import zenml_definitions

    return zenml_definitions


def _output(run: Any, step_name: str) -> Any:
    """Load the single output of `step_name` in `run` from the artifact store."""
    if run.status.value != "completed":
        raise RuntimeError(f"ZenML run {run.name} ended as {run.status.value}")
    return run.steps[step_name].output.load()


def warmup() -> dict[str, float] | None:
    """One-step pipeline: the first run creates the store and the default stack."""
    from zenml import pipeline

    steps = _steps()

    @pipeline(name="warmup", enable_cache=False)
    def warmup_pipeline() -> None:
        steps.source()

    warmup_pipeline()
    return None


def chain(n: int, variant: str) -> int:
    """W1: ``source`` then `n` chained ``increment`` invocations, caching off."""
    from zenml import pipeline

    if variant != "default":
        raise harness.Unsupported(f"unknown variant {variant}")
    steps = _steps()

    @pipeline(name="chain", enable_cache=False)
    def chain_pipeline() -> None:
        value = steps.source()
        for i in range(1, n + 1):
            value = steps.increment(value, id=f"inc{i}")

    return int(_output(chain_pipeline(), f"inc{n}"))


def _static_fan_in(name: str, width: int, body: Any) -> int:
    from zenml import pipeline

    steps = _steps()

    @pipeline(name=name, enable_cache=False)
    def fan_in_pipeline() -> None:
        steps.total([body(k, id=f"b{k}") for k in range(width)], id="join")

    return int(_output(fan_in_pipeline(), "join"))


def fanout(width: int, variant: str) -> int:
    """W2: dynamic pipeline with ``.submit()`` (default) or static pipeline (``static``)."""
    steps = _steps()
    if variant == "static":
        return _static_fan_in("fanout_static", width, steps.nap)
    if variant != "default":
        raise harness.Unsupported(f"unknown variant {variant}")
    os.environ["ZENML_DYNAMIC_PIPELINE_WORKER_COUNT"] = str(width)
    return int(_output(steps.fanout_dynamic(width=width), "join"))


def wide_fanout(width: int, variant: str) -> int:
    """W6: static pipeline, `width` ``echo`` steps and the join, caching off."""
    if variant != "default":
        raise harness.Unsupported(f"unknown variant {variant}")
    return _static_fan_in("wide_fanout", width, _steps().echo)


def cached_chain(incs: Sequence[int], variant: str) -> int:
    """W3: ``add(prev, inc=...)`` steps, ZenML's default cache on."""
    from zenml import pipeline

    if variant != "default":
        raise harness.Unsupported(f"unknown variant {variant}")
    steps = _steps()
    n = len(incs) - 1

    @pipeline(name="cached_chain", enable_cache=True)
    def cached_chain_pipeline() -> None:
        value = steps.source()
        for i in range(1, n + 1):
            value = steps.add(value, inc=incs[i], id=f"add{i}")

    return int(_output(cached_chain_pipeline(), f"add{n}"))


def array_pass(variant: str) -> float:
    """W4: producer and consumer steps; the array goes through the artifact store."""
    from zenml import pipeline

    if variant != "default":
        raise harness.Unsupported(f"unknown variant {variant}")
    steps = _steps()

    @pipeline(name="array", enable_cache=False)
    def array_pipeline() -> None:
        steps.array_sum(steps.make_array(), id="consume")

    return float(_output(array_pipeline(), "consume"))


if __name__ == "__main__":
    raise SystemExit(harness.main(sys.modules[__name__]))
