"""Adapter for the public ``flowyml==2.2.1`` package (PyPI), driven through its own API.

How the workloads are expressed (read from the 2.2.1 sources in the venv):

* Steps are ``flowyml.Step`` objects wired by asset names (``inputs=[...]`` /
  ``outputs=[...]``). ``Pipeline.run()`` runs them with the default ``LocalOrchestrator``
  and ``LocalExecutor``. ``auto_start_ui=False`` stops it from trying to start its UI
  server. Everything else is left at its default: per-step checkpointing, experiment
  tracking and run metadata.
* Pipeline inputs must be produced by a step: DAG validation rejects undeclared assets. So
  per-step parameters come from the pipeline ``Context``, which injects values by argument
  name. Each parametrised step gets a unique argument name (``inc_<i>``, ``i_<k>``)
  through a thin signature-renaming wrapper around the shared body.
* The local orchestrator runs the DAG strictly sequentially: 2.2.1 has no parallel DAG
  executor. ``ParallelExecutor`` and ``parallel_map`` are helpers meant for use *inside* a
  step. The pipeline engine does not map ``@map_task`` steps: the function receives the
  whole list, once.
  * W2 ``default`` is the 64-step DAG.
  * W2 ``parallel_map`` is one step that fans out with
    ``flowyml.parallel_map(max_workers=64)``, followed by the join step.
  * W6 is the 1,000-step DAG plus the join, run sequentially like W2 ``default``.
* Caching uses ``Pipeline(enable_cache=True)`` and each step's ``cache=`` strategy. The
  default is ``"code_hash"``: step name, source hash and the *whole* context. The variant
  is ``"input_hash"``.
* Variant ``no_checkpointing`` (W1, W4) passes ``enable_checkpointing=False``.

Observed with 2.2.1:

* Both cache strategies put a hash of the whole pipeline context into every step's key.
  Changing one step's parameter therefore re-executes all steps.
* ``code_hash`` does not look at step inputs. When an upstream step's code changes, the
  downstream steps return stale cached values.
* After every step, the default checkpointing pickles *all* outputs so far and rewrites a
  JSON file. The cache rewrites its ``metadata.json`` (indented) on every store. Run
  metadata is committed to SQLite. Per-step cost therefore grows with the chain length and
  depends on disk latency.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import bodies
import harness

PACKAGE = "flowyml"
DISTRIBUTIONS = ("flowyml", "numpy")
CACHE_VARIANTS = {"default": "code_hash", "input_hash": "input_hash"}
CHECKPOINT_VARIANTS = {"default": True, "no_checkpointing": False}


def isolate(home: Path) -> None:
    """Nothing beyond the harness: state lives in ``$HOME/.flowyml`` and ``./.flowyml``."""


def _renamed(fn: Callable[..., Any], renames: dict[str, str]) -> Callable[..., Any]:
    """`fn` with some arguments renamed, so the Context can inject a per-step value."""
    original = inspect.signature(fn)

    def step_body(**kwargs: Any) -> Any:
        return fn(**{name: kwargs[renames.get(name, name)] for name in original.parameters})

    params = [p.replace(name=renames.get(p.name, p.name)) for p in original.parameters.values()]
    step_body.__signature__ = original.replace(parameters=params)  # type: ignore[attr-defined]
    return step_body


def _gathered(fn: Callable[[list[Any]], Any], names: Sequence[str]) -> Callable[..., Any]:
    """`fn(values)` as a step taking one named argument per upstream asset."""

    def step_body(**kwargs: Any) -> Any:
        return fn([kwargs[name] for name in names])

    params = [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY) for n in names]
    step_body.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    return step_body


def _run(
    name: str,
    steps: list[Any],
    *,
    cache: bool,
    params: dict[str, Any] | None = None,
    checkpointing: bool = True,
) -> Any:
    """Build a pipeline from `steps`, run it, and return the result (raise if it failed)."""
    from flowyml import Context, Pipeline

    pipeline = Pipeline(
        name,
        context=Context(**(params or {})),
        enable_cache=cache,
        # None = flowyml's configured default (on); False only for the variant.
        enable_checkpointing=None if checkpointing else False,
    )
    pipeline.add_steps(steps)
    result = pipeline.run(auto_start_ui=False)
    if not result.success:
        errors = {n: r.error for n, r in result.step_results.items() if r.error}
        raise RuntimeError(f"pipeline {name} failed: {str(errors)[:2000]}")
    return result


def _checkpointing(variant: str) -> bool:
    if variant not in CHECKPOINT_VARIANTS:
        raise harness.Unsupported(f"unknown variant {variant}")
    return CHECKPOINT_VARIANTS[variant]


def warmup() -> dict[str, float] | None:
    """One-step pipeline."""
    from flowyml import Step

    _run("warmup", [Step(bodies.source, name="s0", outputs=["v0"])], cache=False)
    return None


def _chain_steps(n: int, body: Callable[[int], Any], cache: str | bool) -> list[Any]:
    from flowyml import Step

    steps = [Step(bodies.source, name="s0", outputs=["v0"], cache=cache)]
    for i in range(1, n + 1):
        steps.append(
            Step(body(i), name=f"s{i}", inputs=[f"v{i - 1}"], outputs=[f"v{i}"], cache=cache)
        )
    return steps


def chain(n: int, variant: str) -> int:
    """W1: caching off (``enable_cache=False``)."""
    checkpointing = _checkpointing(variant)
    steps = _chain_steps(n, lambda _: bodies.increment, cache=False)
    return int(_run("chain", steps, cache=False, checkpointing=checkpointing)[f"v{n}"])


def _fan_in_steps(width: int, body: Callable[..., Any], name: str) -> list[Any]:
    """`width` independent `body(i=k)` steps, then a join over all their outputs."""
    from flowyml import Step

    outs = [f"o{k}" for k in range(width)]
    steps = [
        Step(_renamed(body, {"i": f"i_{k}"}), name=f"{name}{k}", outputs=[outs[k]])
        for k in range(width)
    ]
    steps.append(Step(_gathered(bodies.total, outs), name="join", inputs=outs, outputs=["total"]))
    return steps


def fanout(width: int, variant: str) -> int:
    """W2: 64-step DAG (sequential executor) or one ``parallel_map`` step."""
    from flowyml import Step, parallel_map

    if variant == "parallel_map":

        def fan() -> list[int]:
            return list(parallel_map(bodies.nap, list(range(width)), max_workers=width))

        steps = [
            Step(fan, name="fan", outputs=["naps"]),
            Step(bodies.total, name="join", inputs=["naps"], outputs=["total"]),
        ]
        return int(_run("fanout", steps, cache=False)["total"])
    if variant != "default":
        raise harness.Unsupported(f"unknown variant {variant}")
    params = {f"i_{k}": k for k in range(width)}
    steps = _fan_in_steps(width, bodies.nap, "nap")
    return int(_run("fanout", steps, cache=False, params=params)["total"])


def wide_fanout(width: int, variant: str) -> int:
    """W6: 1,000-step DAG plus the join (sequential executor), caching off."""
    if variant != "default":
        raise harness.Unsupported(f"unknown variant {variant}")
    params = {f"i_{k}": k for k in range(width)}
    steps = _fan_in_steps(width, bodies.echo, "echo")
    return int(_run("wide_fanout", steps, cache=False, params=params)["total"])


def cached_chain(incs: Sequence[int], variant: str) -> int:
    """W3: flowyml's own on-disk cache (``.flowyml/cache``), strategy per variant."""
    if variant not in CACHE_VARIANTS:
        raise harness.Unsupported(f"unknown variant {variant}")
    n = len(incs) - 1
    steps = _chain_steps(
        n, lambda i: _renamed(bodies.add, {"inc": f"inc_{i}"}), cache=CACHE_VARIANTS[variant]
    )
    params = {f"inc_{i}": incs[i] for i in range(1, n + 1)}
    return int(_run("cached_chain", steps, cache=True, params=params)[f"v{n}"])


def array_pass(variant: str) -> float:
    """W4: producer and consumer steps, caching off."""
    from flowyml import Step

    checkpointing = _checkpointing(variant)
    steps = [
        Step(bodies.make_array, name="make", outputs=["array"]),
        Step(bodies.array_sum, name="consume", inputs=["array"], outputs=["sum"]),
    ]
    return float(_run("array", steps, cache=False, checkpointing=checkpointing)["sum"])


if __name__ == "__main__":
    raise SystemExit(harness.main(sys.modules[__name__]))
