"""Per-step resources in flowyml.yaml (``pipelines:``) and how a pipeline takes them."""

from __future__ import annotations

import pytest

from flowyml import ConfigError, Pipeline, PipelineDefinitionError, ResourceConfig, step
from flowyml.execution.launch import configured_pipeline
from flowyml.project.config import load_config


@step(outputs=["data"], resources={"cpu": 4, "memory": "8Gi", "gpu": 1})
def load() -> int:
    return 1


@step(inputs=["data"], outputs=["model"])
def train(data: int) -> int:
    return data


training = Pipeline("training", steps=[load, train])


def test_the_config_reads_per_step_resources_of_a_pipeline(project):
    (project / "flowyml.yaml").write_text(
        "pipelines:\n  training:\n    steps:\n      load: {resources: {cpu: 1, memory: 2Gi}}\n"
    )
    config = load_config(project)
    assert config.step_resources("training") == {"load": ResourceConfig(cpu=1, memory="2Gi")}
    assert config.step_resources("other") == {}


def test_a_misspelled_resource_key_names_its_path(project):
    (project / "flowyml.yaml").write_text(
        "pipelines:\n  training:\n    steps:\n      load: {resources: {cpus: 1}}\n"
    )
    with pytest.raises(ConfigError, match=r"unknown key 'pipelines\.training\.steps\.load"):
        load_config(project)


def test_set_fields_replace_the_decorators_and_the_others_stay():
    changed = training.with_step_resources({"load": ResourceConfig(cpu=1, memory="2Gi")})
    assert changed.step_by_name("load").resources == ResourceConfig(cpu=1, memory="2Gi", gpu=1)
    assert changed.step_by_name("train") is train
    assert load.resources == ResourceConfig(cpu=4, memory="8Gi", gpu=1)  # the original stays
    assert training.step_by_name("load") is load


def test_a_copy_imports_as_the_original_pipeline_and_step():
    changed = training.with_step_resources({"load": ResourceConfig(cpu=1)})
    assert changed is not training
    assert changed.reference() == training.reference() is not None
    assert changed.step_by_name("load").reference() == load.reference() is not None


def test_nothing_to_change_returns_the_pipeline_itself():
    assert training.with_step_resources({}) is training


def test_a_step_the_pipeline_lacks_is_refused_with_its_steps():
    with pytest.raises(PipelineDefinitionError, match=r"no step\(s\) \['lod'\].*'load', 'train'"):
        training.with_step_resources({"lod": ResourceConfig(cpu=1)})


def test_configured_pipeline_names_the_config_file_for_an_unknown_step(project):
    (project / "flowyml.yaml").write_text(
        "pipelines:\n  training:\n    steps:\n      lod: {resources: {cpu: 1}}\n"
    )
    with pytest.raises(ConfigError, match=r"flowyml\.yaml: 'pipelines\.training\.steps'.*lod"):
        configured_pipeline(training, load_config(project))
