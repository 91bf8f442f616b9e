"""Pipelines the page is tested with; parameters choose how long and what a step prints."""

from __future__ import annotations

import time

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
