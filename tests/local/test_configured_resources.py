"""The per-step resources of flowyml.yaml reach the backend that launches the step."""

from __future__ import annotations

from typing import Any

import pytest
import sample_steps

from flowyml import ResourceConfig, hookimpl
from flowyml.plugins.manager import get_plugin_manager
from flowyml_local.subprocess_executor import SubprocessExecutor


class _Recording(SubprocessExecutor):
    """The subprocess backend, noting the resources each group is launched with."""

    name = "recording_subprocess"
    launched: dict[str, Any] = {}

    def launch(self, args: list[str], **kwargs: Any) -> Any:
        _Recording.launched[kwargs["group"]] = kwargs["resources"]
        return super().launch(args, **kwargs)


class _Plugin:
    @hookimpl
    def flowyml_register_backends(self) -> list[type[Any]]:
        return [_Recording]


@pytest.fixture
def recording(project):
    _Recording.launched = {}
    get_plugin_manager().register(_Plugin(), "recording", "tests")
    return "recording_subprocess"


def test_a_subprocess_run_launches_a_step_with_the_configured_resources(project, recording):
    (project / "flowyml.yaml").write_text(
        "# the team's stacks\n"
        "stack: dev\n"
        "stacks:\n  dev: {backend: recording_subprocess, resources: {cpu: 8, gpu_type: T4}}\n"
        "pipelines:\n  chain:\n    steps:\n      add_up: {resources: {cpu: 0.5, memory: 384Mi}}\n"
    )
    run = sample_steps.chain.run()
    assert run.success, run.error
    assert _Recording.launched["add_up"] == ResourceConfig(cpu=0.5, memory="384Mi")
    assert _Recording.launched["produce"] == ResourceConfig()  # untouched steps ask as before
    assert sample_steps.add_up.resources == ResourceConfig()  # the module's step is unchanged


def test_measured_runs_rightsized_and_written_are_what_the_next_run_launches_with(
    project, recording
):
    from flowyml.project.config_write import write_step_resources
    from flowyml.project.folder import forget_projects, open_project
    from flowyml.project.rightsize_report import rightsize_pipeline

    (project / "flowyml.yaml").write_text(
        "# ours\nstack: dev\nstacks:\n  dev: {backend: recording_subprocess}\n"
    )
    for _ in range(2):
        assert sample_steps.chain.run(cache=False).success
    report = rightsize_pipeline(open_project(), "chain", runs=2, backends=[])
    for sizing in report.steps:
        assert len(sizing.measured.usages) == 2, sizing.step
        peak = sizing.measured.figures()["peak_memory_max"]
        assert sizing.suggested.memory_bytes >= peak * 1.25
        assert sizing.suggested.memory_bytes % (128 * 1024**2) == 0
        assert sizing.suggested.cpu >= 0.25
    suggestions = report.suggestions()
    assert set(suggestions) == {"produce", "add_up", "double"}
    write_step_resources(project, "chain", suggestions)
    forget_projects()  # the next run reads the configuration afresh, as a new process would
    assert sample_steps.chain.run(cache=False).success
    assert {g: _Recording.launched[g] for g in suggestions} == suggestions
