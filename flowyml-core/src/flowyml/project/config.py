"""Configuration: which backend (stack) runs a pipeline, with which settings.

Resolution order for the stack or backend name: explicit argument > ``FLOWYML_BACKEND``
> ``flowyml.yaml`` in the project (or the file ``FLOWYML_CONFIG`` names) >
``[tool.flowyml]`` in ``pyproject.toml`` > ``local``.

A config file names *stacks*, each a backend plus its settings::

    stack: dev                 # the default stack
    stacks:
      dev:
        backend: local
        settings: {max_workers: 8}
      cloud:
        backend: vertex_ai
        artifact_store: gs://my-bucket/flowyml
        settings: {project_id: my-project, region: europe-west1}

A name that is not a stack is taken as a backend name with default settings.

Per-step resources of a pipeline (``flowyml rightsize --write`` writes them) replace the
fields the step's decorator set; the stack's ``resources`` still fill what neither sets::

    pipelines:
      training:                # the pipeline's name
        steps:
          train: {resources: {cpu: 2, memory: 6Gi}}
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from flowyml.errors import ConfigError
from flowyml.project.locate import (
    CONFIG_FILE,
    DEFAULT_HOME,
    PROJECT_ENV,
    PROJECT_MARKERS,
    find_project_root,
    marked_project_root,
    project_of_file,
    project_start,
)
from flowyml.records.resources import DockerConfig, ResourceConfig

__all__ = [
    "CONFIG_FILE",
    "PROJECT_ENV",
    "PROJECT_MARKERS",
    "PipelineSettings",
    "ProjectConfig",
    "StackConfig",
    "StepSettings",
    "find_project_root",
    "format_validation_error",
    "load_config",
    "marked_project_root",
    "project_of_file",
    "project_start",
]

DEFAULT_BACKEND = "local"


class StackConfig(BaseModel):
    """A backend and its settings.

    Attributes:
        backend: the backend name (``flowyml backends`` lists them).
        settings: the backend's own settings, validated by its config model.
        artifact_store: URI of the artifact store (default: ``.flowyml/artifacts``).
        cache: whether cacheable steps may reuse results.
        fail_fast: stop the run at the first failure (else run what does not depend on it).
        resources: default resources of every step.
        docker: how container backends build or pick images.
    """

    model_config = ConfigDict(extra="forbid")

    backend: str
    settings: dict[str, Any] = Field(default_factory=dict)
    artifact_store: str | None = None
    cache: bool = True
    fail_fast: bool = True
    resources: ResourceConfig | None = None
    docker: DockerConfig | None = None


class StepSettings(BaseModel):
    """What the configuration sets for one step of a pipeline.

    Attributes:
        resources: replaces the fields of the step's own ``resources`` that it sets.
    """

    model_config = ConfigDict(extra="forbid")

    resources: ResourceConfig | None = None


class PipelineSettings(BaseModel):
    """What the configuration sets for one pipeline.

    Attributes:
        steps: step name -> its settings.
    """

    model_config = ConfigDict(extra="forbid")

    steps: dict[str, StepSettings] = Field(default_factory=dict)


class ProjectConfig(BaseModel):
    """The whole configuration file.

    Attributes:
        stack: name of the default stack or backend.
        stacks: stack name -> stack.
        pipelines: pipeline name -> per-step settings (resources).
        project_name: recorded with every run.
        home: the folder of the run store and default artifact store, relative to the
            project root.
    """

    model_config = ConfigDict(extra="forbid")

    stack: str | None = None
    stacks: dict[str, StackConfig] = Field(default_factory=dict)
    pipelines: dict[str, PipelineSettings] = Field(default_factory=dict)
    project_name: str = "default"
    home: str = DEFAULT_HOME
    source: str | None = Field(default=None, exclude=True)

    def resolve(self, name: str | None = None) -> tuple[str, StackConfig]:
        """The stack name and stack to use, following the resolution order."""
        chosen = name or os.environ.get("FLOWYML_BACKEND") or self.stack or DEFAULT_BACKEND
        stack = self.stacks.get(chosen)
        if stack is None:
            stack = StackConfig(backend=chosen)
        return chosen, stack

    def step_resources(self, pipeline: str) -> dict[str, ResourceConfig]:
        """Step name -> the resources this configuration sets for it in ``pipeline``."""
        settings = self.pipelines.get(pipeline)
        if settings is None:
            return {}
        return {n: s.resources for n, s in settings.steps.items() if s.resources is not None}


def format_validation_error(exc: ValidationError, source: str, prefix: str = "") -> str:
    """One line per problem: the file, the key path and what was expected."""
    lines = []
    for error in exc.errors():
        path = ".".join(str(part) for part in (prefix, *error["loc"]) if part != "")
        if error["type"] == "extra_forbidden":
            lines.append(f"{source}: unknown key '{path}'")
        else:
            lines.append(f"{source}: '{path}': {error['msg']} (got {error.get('input')!r})")
    return "invalid configuration:\n  " + "\n  ".join(lines)


_Model = TypeVar("_Model", bound=BaseModel)


def validated_settings(model: type[_Model], settings: Any, backend: str) -> _Model:
    """``settings`` checked against a backend's settings model.

    Raises:
        ConfigError: one line per problem, naming the backend and each key.
    """
    try:
        return model.model_validate(settings)
    except ValidationError as exc:
        raise ConfigError(
            f"backend '{backend}': " + format_validation_error(exc, "settings")
        ) from None


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys")
    return data


def load_config(root: Path | None = None) -> ProjectConfig:
    """Load the project's configuration (defaults when there is no file).

    Raises:
        ConfigError: the file is unreadable, or a key is unknown or of the wrong type.
    """
    root = root or find_project_root()
    explicit = os.environ.get("FLOWYML_CONFIG")
    data: dict[str, Any] = {}
    source = "defaults"
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"FLOWYML_CONFIG names {path}, which is not a file")
        data, source = _read_yaml(path), str(path)
    elif (root / CONFIG_FILE).is_file():
        data, source = _read_yaml(root / CONFIG_FILE), str(root / CONFIG_FILE)
    elif (root / "pyproject.toml").is_file():
        import tomllib

        try:
            pyproject = tomllib.loads((root / "pyproject.toml").read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{root / 'pyproject.toml'}: not valid TOML: {exc}") from None
        data = pyproject.get("tool", {}).get("flowyml", {})
        source = f"{root / 'pyproject.toml'} [tool.flowyml]"
    try:
        config = ProjectConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from None
    config.source = source
    return config
