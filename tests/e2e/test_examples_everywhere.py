"""The same example pipelines give identical outputs on every installed executor backend."""

from __future__ import annotations

import numpy as np
import pytest

from flowyml.plugins.manager import get_plugin_manager

EXECUTORS = ["local", "subprocess"]


def _outputs(run):
    assert run.success, run.error
    return {name: run.outputs[name] for name in run.outputs}


def _equal(a, b):
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    return a == b


@pytest.mark.parametrize("backend", EXECUTORS[1:])
@pytest.mark.parametrize("name", ["ml_pipeline.py", "fan_out.py"])
def test_example_matches_local(project, example, name, backend):
    assert backend in get_plugin_manager().backends()
    pipeline = example(name)
    reference = _outputs(pipeline.run("local"))
    (project / "flowyml.yaml").write_text(
        f"stacks:\n  nocache:\n    backend: {backend}\n    cache: false\n"
    )
    from flowyml.project.folder import forget_projects

    forget_projects()
    other = _outputs(pipeline.run("nocache"))
    assert reference.keys() == other.keys()
    assert all(_equal(reference[k], other[k]) for k in reference)


def test_ml_example_learns_something(project, example):
    run = example("ml_pipeline.py").run("local")
    metrics = run.outputs["metrics"]
    assert metrics["accuracy"] > 0.85 and metrics["test_samples"] == 500
