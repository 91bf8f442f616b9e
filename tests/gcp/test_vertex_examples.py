"""The example pipelines give the same outputs on vertex_ai as on local."""

from __future__ import annotations

import numpy as np
import pytest
from test_vertex_harness import *  # noqa: F403 - the shared fixtures
from test_vertex_harness import EXAMPLES


def _outputs(run):
    assert run.success, run.error
    return {name: run.outputs[name] for name in run.outputs}


def _equal(a, b):
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    return a == b


@pytest.mark.gcp
@pytest.mark.parametrize("name", ["ml_pipeline.py", "fan_out.py"])
def test_example_gives_the_same_outputs_as_local(vertex_project, name):
    from flowyml.definition.references import load_reference

    pipeline = load_reference(f"{EXAMPLES / name}:pipeline")
    reference = _outputs(pipeline.run("local"))
    run = pipeline.run("vertex")
    other = _outputs(run)
    assert run.backend == "vertex_ai"
    assert reference.keys() == other.keys()
    assert all(_equal(reference[k], other[k]) for k in reference)
