"""Fan-out and join: independent branches run concurrently, then one step joins them.

``flowyml run examples/fan_out.py`` — the eight ``square_*`` steps run at the same time
on the ``local`` backend.
"""

from __future__ import annotations

import time

from flowyml import Context, Pipeline, step

BRANCHES = 8


def make_branch(index: int):
    """A step that squares its share of the input, slowly (it sleeps like I/O does)."""

    def square(numbers: list[int], delay: float) -> int:
        time.sleep(delay)
        return sum(n * n for n in numbers[index::BRANCHES])

    square.__name__ = f"square_{index}"
    return step(inputs=["numbers"], outputs=[f"part_{index}"])(square)


@step(outputs=["numbers"])
def numbers(count: int) -> list[int]:
    """The input numbers."""
    return list(range(count))


@step(inputs=[f"part_{i}" for i in range(BRANCHES)], outputs=["total"])
def join(*parts: int) -> int:
    """Sum of the branches' results."""
    return sum(parts)


branches = [make_branch(i) for i in range(BRANCHES)]
for _branch in branches:
    globals()[_branch.name] = _branch  # module-level names, so other processes can import them

pipeline = Pipeline(
    "fan-out", steps=[numbers, *branches, join], context=Context(count=1000, delay=0.2)
)

if __name__ == "__main__":
    run = pipeline.run()
    print("total:", run.outputs["total"], "in", round(run.duration_seconds, 3), "s")
