"""Which folder goes into the image, and how the container finds the pipeline."""

from __future__ import annotations

import sys

import pytest
from docker_harness import PROJECT, pipeline


def test_a_script_pipeline_is_referenced_under_the_workdir():
    from flowyml_docker.project_source import locate_project

    source = locate_project(pipeline("demo"), "/app")
    assert source.host_dir == PROJECT
    assert source.pipeline_ref == "/app/pipelines.py:demo"
    assert "pipelines.py" in source.files


def test_a_wider_project_dir_keeps_the_scripts_relative_path():
    from flowyml_docker.project_source import locate_project

    source = locate_project(pipeline("demo"), "/work", str(PROJECT.parent))
    assert source.pipeline_ref == "/work/project/pipelines.py:demo"


def test_a_project_dir_without_the_pipeline_is_a_config_error(tmp_path):
    from flowyml.errors import ConfigError
    from flowyml_docker.project_source import locate_project

    with pytest.raises(ConfigError, match="not inside project_dir"):
        locate_project(pipeline("demo"), "/app", str(tmp_path))


def test_a_module_pipeline_keeps_its_reference_and_its_package_root(tmp_path, monkeypatch):
    from flowyml_docker.project_source import locate_project

    package = tmp_path / "mypkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "flows.py").write_text(
        "from flowyml import Pipeline, step\n\n"
        "@step(outputs=['x'])\ndef one():\n    return 1\n\n"
        "flow = Pipeline('flow', steps=[one])\n"
    )
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "HEAD").write_text("ref")
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "flows.cpython-311.pyc").write_bytes(b"")
    monkeypatch.syspath_prepend(str(tmp_path))
    from mypkg.flows import flow  # type: ignore[import-not-found]

    try:
        source = locate_project(flow, "/app")
    finally:
        for name in ("mypkg", "mypkg.flows"):
            sys.modules.pop(name, None)
    assert source.host_dir == tmp_path
    assert source.pipeline_ref == "mypkg.flows:flow"
    assert set(source.files) == {"mypkg/__init__.py", "mypkg/flows.py"}


def test_the_fingerprint_changes_with_the_code(tmp_path):
    from flowyml_docker.project_source import ProjectSource

    (tmp_path / "a.py").write_text("x = 1\n")
    before = ProjectSource(tmp_path, "a.py:x", ("a.py",)).fingerprint()
    assert ProjectSource(tmp_path, "a.py:x", ("a.py",)).fingerprint() == before
    (tmp_path / "a.py").write_text("x = 2\n")
    assert ProjectSource(tmp_path, "a.py:x", ("a.py",)).fingerprint() != before
