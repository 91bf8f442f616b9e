"""Adapter for FlowyML Orchestrators (this repository: ``flowyml-core`` + ``flowyml-local``).

* Steps are ``flowyml.step(...)`` around the shared bodies, wired by artifact names and run
  by ``Pipeline.run()`` on the default ``local`` backend (in process; independent steps on
  its thread pool, 32 workers by default, so W2 needs no extra setting).
* The run store (SQLite under ``<home>/.flowyml``) and the artifact store are on, as in
  every run: each output is persisted, content-addressed.
* W1/W2/W4/W6 declare ``cache=False``; W3 uses the default cache (code fingerprint,
  parameters, input fingerprints). Per-step parameters (W2/W6's index, W3's increment) are
  per-step ``Context`` overrides; the W2/W6 join unpacks the branch outputs (``*values``)
  into the shared ``total`` body.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import bodies
import harness

PACKAGE = "flowyml"
DISTRIBUTIONS = ("flowyml-core", "flowyml-local", "numpy")


def isolate(home: Path) -> None:
    """Make `home` the project: its `.flowyml` holds the run store, cache and artifacts."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "flowyml.yaml").touch()
    os.chdir(home)
    for name in ("FLOWYML_BACKEND", "FLOWYML_CONFIG"):
        os.environ.pop(name, None)


def _run(steps: list[Any], context: Any = None) -> Any:
    from flowyml import Context, Pipeline

    pipeline = Pipeline("bench", steps=steps, context=context if context is not None else Context())
    run = pipeline.run(echo_logs=False)
    if not run.success:
        raise RuntimeError(f"run failed: {run.error}")
    return run


def warmup() -> dict[str, float] | None:
    """A one-step run: creates the database and pays the lazy imports."""
    from flowyml import step

    _run([step(name="warmup", outputs=["w"], cache=False)(bodies.source)])
    return None


def _chain(length: int, cache: bool, body: Any, name: str) -> list[Any]:
    from flowyml import step

    steps = [step(name="source", outputs=["v0"], cache=cache)(bodies.source)]
    steps += [
        step(name=f"{name}{i}", inputs=[f"v{i - 1}"], outputs=[f"v{i}"], cache=cache)(body)
        for i in range(1, length + 1)
    ]
    return steps


def chain(n: int, variant: str) -> int:
    """W1: `source` then `n` chained `increment` steps."""
    if variant != "default":
        raise harness.Unsupported(f"unknown variant {variant}")
    run = _run(_chain(n, False, bodies.increment, "inc"))
    return int(run.outputs[f"v{n}"])


def _fan_in(width: int, body: Any, name: str) -> int:
    """`width` independent `body(i=k)` steps on the local thread pool, then the join."""
    from flowyml import Context, step

    branches = [step(name=f"{name}{k}", outputs=[f"n{k}"], cache=False)(body) for k in range(width)]

    def join(*values: int) -> int:
        return bodies.total(values)

    total = step(name="total", inputs=[f"n{k}" for k in range(width)], outputs=["t"], cache=False)
    context = Context()
    for k in range(width):
        context.override(f"{name}{k}", i=k)
    return int(_run([*branches, total(join)], context).outputs["t"])


def fanout(width: int, variant: str) -> int:
    """W2: independent `nap` steps on the local thread pool, then the join."""
    if variant != "default":
        raise harness.Unsupported(f"unknown variant {variant}")
    return _fan_in(width, bodies.nap, "nap")


def wide_fanout(width: int, variant: str) -> int:
    """W6: independent `echo` steps on the local thread pool, then the join."""
    if variant != "default":
        raise harness.Unsupported(f"unknown variant {variant}")
    return _fan_in(width, bodies.echo, "echo")


def cached_chain(incs: Sequence[int], variant: str) -> int:
    """W3: `source` then `add(prev, inc)` steps, default caching."""
    from flowyml import Context

    if variant != "default":
        raise harness.Unsupported(f"unknown variant {variant}")
    steps = _chain(len(incs) - 1, True, bodies.add, "add")
    context = Context()
    for i, inc in enumerate(incs[1:], start=1):
        context.override(f"add{i}", inc=inc)
    return int(_run(steps, context).outputs[f"v{len(incs) - 1}"])


def array_pass(variant: str) -> float:
    """W4: producer and consumer; the array travels by reference and is persisted once."""
    from flowyml import step

    if variant != "default":
        raise harness.Unsupported(f"unknown variant {variant}")
    make = step(name="make", outputs=["a"], cache=False)(bodies.make_array)
    consume = step(name="consume", inputs=["a"], outputs=["s"], cache=False)(bodies.array_sum)
    return float(_run([make, consume]).outputs["s"])


if __name__ == "__main__":
    raise SystemExit(harness.main(sys.modules[__name__]))
