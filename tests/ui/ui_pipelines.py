"""Pipelines the page is tested with; parameters choose how long and what a step prints."""

from __future__ import annotations

import time
from typing import Any

from flowyml import Context, Pipeline, step


@step(outputs=["numbers"])
def prepare(count: int = 5) -> list[int]:
    print("preparing", flush=True)
    return list(range(count))


@step(inputs=["numbers"], outputs=["total"])
def slow_print(numbers: list[int], lines: int = 6, pause: float = 0.5) -> int:
    for index in range(1, lines + 1):
        print(f"line {index} of {lines}", flush=True)
        time.sleep(pause)
    return sum(numbers)


@step(inputs=["total"], outputs=["report"])
def report(total: int, fail: bool = False) -> dict[str, int]:
    if fail:
        raise ValueError(f"report refused total {total}")
    return {"total": total}


slow = Pipeline("slow", context=Context(count=5)).add_step(prepare).add_step(slow_print)
slow.add_step(report)


@step(outputs=["page"])
def hostile() -> str:
    print("<script>window.__pwned = 'script';</script>", flush=True)
    print('<img src="x" onerror="window.__pwned = \'img\'">', flush=True)
    raise RuntimeError('<img src=x onerror="window.__pwned = 1">')


hostile_pipeline = Pipeline("<b>hostile</b>").add_step(hostile)


def _cell(column: int, row: int, rows: int) -> object:
    upstream = [f"c{column - 1}r{row}", f"c{column - 1}r{(row + 1) % rows}"] if column else []

    def body(*parts: int) -> int:
        return column + sum(parts)

    name = f"c{column}r{row}"
    return step(name=name, inputs=upstream, outputs=[name], cache=False)(body)


def _grid(columns: int, rows: int) -> Pipeline:
    """``columns`` x ``rows`` steps, each reading two steps of the column before."""
    pipeline = Pipeline(f"grid{columns * rows}")
    for column in range(columns):
        for row in range(rows):
            pipeline.add_step(_cell(column, row, rows))
    return pipeline


grid = _grid(20, 50)


@step(outputs=["raw"], execution_group="prep")
def load(rows: int = 8) -> list[dict[str, float]]:
    print(f"loading {rows} rows", flush=True)
    return [{"x": float(i), "y": 2.0 * i + 1} for i in range(rows)]


@step(inputs=["raw"], outputs=["features"], execution_group="prep")
def featurize(raw: list[dict[str, float]]) -> Any:
    import numpy as np

    print("features: x, x squared, y", flush=True)
    return np.array([[r["x"], r["x"] ** 2, r["y"]] for r in raw])


@step(inputs=["features"], outputs=["linear"])
def fit_linear(features: Any, epochs: int = 4, pause: float = 0.0) -> dict[str, float]:
    for epoch in range(1, epochs + 1):
        print(f"epoch {epoch}/{epochs} loss {1.0 / epoch:.3f}", flush=True)
        time.sleep(pause)
    return {"slope": 2.0, "intercept": 1.0}


@step(inputs=["features"], outputs=["quadratic"])
def fit_quadratic(features: Any) -> dict[str, float]:
    return {"a": 0.0, "b": 2.0, "c": 1.0}


@step(inputs=["linear", "quadratic"], outputs=["best"])
def choose(linear: dict[str, float], quadratic: dict[str, float]) -> str:
    print("linear wins: fewer parameters, same error", flush=True)
    return "linear"


showcase = Pipeline("train_models", context=Context(rows=8, epochs=4))
for _step in (load, featurize, fit_linear, fit_quadratic, choose):
    showcase.add_step(_step)
