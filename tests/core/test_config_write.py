"""Writing per-step resources into flowyml.yaml (flowyml/project/config_write.py)."""

from __future__ import annotations

import pytest

from flowyml import ConfigError, ResourceConfig
from flowyml.project.config import load_config
from flowyml.project.config_write import write_step_resources

_COMMENTED = """\
# Our stacks: ask the platform team before changing them.
stack: dev
stacks:
  dev:
    backend: local   # fast feedback
    settings: {max_workers: 4}

# The end.
project_name: demo
"""


def test_the_resources_are_added_and_every_other_line_is_kept(project):
    path = project / "flowyml.yaml"
    path.write_text(_COMMENTED)
    written = write_step_resources(
        project, "training", {"train": ResourceConfig(cpu=2.0, memory="1536Mi")}
    )
    text = path.read_text()
    assert written.path == path and written.comments_kept and not written.created
    assert text.startswith(_COMMENTED)
    assert "cpu: 2\n" in text  # a whole number of cores reads as one
    config = load_config(project)
    assert config.step_resources("training") == {"train": ResourceConfig(cpu=2, memory="1536Mi")}
    assert (config.stack, config.project_name) == ("dev", "demo")


def test_an_existing_block_is_replaced_keeping_fields_not_written_and_the_lines_after(project):
    path = project / "flowyml.yaml"
    path.write_text(
        "pipelines:\n"
        "  training:\n"
        "    steps:\n"
        "      train: {resources: {memory: 8Gi, gpu_type: T4}}\n"
        "  other:\n"
        "    steps: {x: {resources: {cpu: 1}}}\n"
        "\n"
        "# the default stack\n"
        "stack: dev\n"
    )
    write_step_resources(project, "training", {"train": ResourceConfig(cpu=0.5, memory="1Gi")})
    text = path.read_text()
    assert text.endswith("\n# the default stack\nstack: dev\n")
    config = load_config(project)
    assert config.step_resources("training") == {
        "train": ResourceConfig(cpu=0.5, memory="1Gi", gpu_type="T4")
    }
    assert config.step_resources("other") == {"x": ResourceConfig(cpu=1)}


def test_a_project_without_a_file_gets_one(project):
    (project / "flowyml.yaml").unlink()
    written = write_step_resources(project, "training", {"load": ResourceConfig(cpu=1)})
    assert written.created
    assert load_config(project).step_resources("training") == {"load": ResourceConfig(cpu=1)}


def test_an_invalid_configuration_is_refused_and_left_as_it_was(project):
    path = project / "flowyml.yaml"
    path.write_text("stacks:\n  dev: {backend: local, fail_fats: true}\n")
    with pytest.raises(ConfigError, match="not writing .*flowyml.yaml: fix the configuration"):
        write_step_resources(project, "training", {"load": ResourceConfig(cpu=1)})
    assert path.read_text() == "stacks:\n  dev: {backend: local, fail_fats: true}\n"


def test_a_configuration_in_pyproject_is_not_edited(project):
    (project / "flowyml.yaml").unlink()
    (project / "pyproject.toml").write_text('[tool.flowyml]\nstack = "dev"\n')
    with pytest.raises(ConfigError, match=r"pyproject.toml \[tool.flowyml\], which --write"):
        write_step_resources(project, "training", {"load": ResourceConfig(cpu=1)})
    assert not (project / "flowyml.yaml").exists()


def test_the_write_leaves_no_temporary_file_and_keeps_the_mode(project):
    path = project / "flowyml.yaml"
    path.write_text("stack: dev\n")
    path.chmod(0o600)
    write_step_resources(project, "training", {"load": ResourceConfig(cpu=1)})
    assert sorted(p.name for p in project.iterdir()) == ["flowyml.yaml"]
    assert path.stat().st_mode & 0o777 == 0o600
