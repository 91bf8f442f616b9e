"""Conformance: the example pipelines give the same outputs as on ``local``."""

from __future__ import annotations

import pytest

from flowyml.storage.pipeline_run import PipelineRun
from flowyml.testing.harness import ConformanceBase, ConformanceProject
from flowyml.testing.pipelines import EXAMPLES

__all__ = ["ExampleTests", "step_statuses"]


def step_statuses(run: PipelineRun) -> dict[str, str]:
    """Step name -> status of each step the run attempted."""
    return {name: result.status.value for name, result in run.step_results.items()}


class ExampleTests(ConformanceBase):
    """Each pipeline of :data:`flowyml.testing.pipelines.EXAMPLES` (several outputs, a
    pickled value, bytes, a per-step parameter override, an execution group, a skipped
    step) gives exactly the outputs and step statuses it gives on ``local``."""

    @pytest.mark.parametrize("example", sorted(EXAMPLES))
    def test_example_gives_the_same_outputs_as_local(
        self, conformance: ConformanceProject, example: str
    ) -> None:
        pipeline = EXAMPLES[example]
        reference = conformance.reference_run(pipeline)
        assert reference.success, reference.error
        run = conformance.run(pipeline)
        assert run.success, run.error
        assert run.backend == conformance.backend_name
        assert step_statuses(run) == step_statuses(reference)
        assert set(run.outputs) == set(reference.outputs)
        for name in reference.outputs:
            assert run.outputs[name] == reference.outputs[name], f"output '{name}' differs"
        assert conformance.record(run.run_id).status.value == "success"
