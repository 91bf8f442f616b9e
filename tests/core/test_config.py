"""Configuration loading and backend resolution (flowyml/config.py)."""

from __future__ import annotations

import pytest

from flowyml import ConfigError
from flowyml.project.config import load_config


def test_default_is_local(project):
    assert load_config(project).resolve(None)[1].backend == "local"


def test_resolution_order_argument_env_file_pyproject(project, monkeypatch):
    (project / "flowyml.yaml").unlink()
    (project / "pyproject.toml").write_text('[tool.flowyml]\nstack = "from-pyproject"\n')
    assert load_config(project).resolve(None)[0] == "from-pyproject"
    (project / "flowyml.yaml").write_text("stack: from-yaml\n")
    assert load_config(project).resolve(None)[0] == "from-yaml"
    monkeypatch.setenv("FLOWYML_BACKEND", "from-env")
    assert load_config(project).resolve(None)[0] == "from-env"
    assert load_config(project).resolve("explicit")[0] == "explicit"


def test_a_stack_names_its_backend_and_settings(project):
    (project / "flowyml.yaml").write_text(
        "stack: fast\nstacks:\n  fast:\n    backend: local\n    settings: {max_workers: 4}\n"
    )
    name, stack = load_config(project).resolve(None)
    assert (name, stack.backend, stack.settings) == ("fast", "local", {"max_workers": 4})


def test_misspelled_key_names_file_and_key_path(project):
    (project / "flowyml.yaml").write_text(
        "stacks:\n  dev:\n    backend: local\n    fail_fats: true\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(project)
    message = str(info.value)
    assert "flowyml.yaml" in message and "unknown key 'stacks.dev.fail_fats'" in message


def test_wrong_type_names_key_and_value(project):
    (project / "flowyml.yaml").write_text("stacks:\n  dev:\n    backend: local\n    cache: maybe\n")
    with pytest.raises(ConfigError, match=r"'stacks\.dev\.cache': .*bool.*'maybe'"):
        load_config(project)


def test_config_env_var_must_name_a_file(project, monkeypatch):
    monkeypatch.setenv("FLOWYML_CONFIG", str(project / "missing.yaml"))
    with pytest.raises(ConfigError, match="FLOWYML_CONFIG names .*missing.yaml"):
        load_config(project)


def test_invalid_yaml_is_a_config_error(project):
    (project / "flowyml.yaml").write_text("stacks: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(project)
