"""Pipelines of the dask plan tests (imported by the workers too: tests/dask is on their
PYTHONPATH)."""

from __future__ import annotations

from flowyml import Context, Pipeline, step


@step(outputs=["numbers"])
def numbers(count: int) -> list[int]:
    return list(range(count))


@step(inputs=["numbers"], outputs=["total"], resources={"gpu": 1})
def total(numbers: list[int]) -> int:
    return sum(numbers)


summed = Pipeline("dask-planned", steps=[numbers, total], context=Context(count=10))
