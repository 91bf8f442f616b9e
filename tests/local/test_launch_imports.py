"""A run launches with what flowyml/execution/launch.py imports on demand (defining a
pipeline does not load it: tests/core/test_pipeline_import_light.py)."""

from __future__ import annotations

from pathlib import Path


def test_launching_still_finds_what_it_imports_on_demand(project: Path) -> None:
    from flowyml import Pipeline, step

    @step(outputs=["x"])
    def make() -> int:
        return 41

    @step(inputs=["x"], outputs=["y"])
    def add(x: int) -> int:
        return x + 1

    run = Pipeline("launched", steps=[make, add]).run(backend="local")
    assert run.success
    assert run.outputs["y"] == 42
