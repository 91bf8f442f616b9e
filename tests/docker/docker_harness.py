"""What the docker tests share besides fixtures: the test project, stack files, polling."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

BASE_IMAGE = os.environ.get("FLOWYML_CI_IMAGE", "flowyml-test/python:bookworm")
PROJECT = Path(__file__).resolve().parent / "project"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def numpy_requirement() -> list[str]:
    # One requirement list for every test image, so they share the venv layer.
    import numpy

    return [f"numpy=={numpy.__version__}"]


def pipeline(name: str) -> Any:
    """A pipeline of the test project, loaded by file like `flowyml run` does."""
    from flowyml.definition.references import load_reference

    return load_reference(f"{PROJECT / 'pipelines.py'}:{name}")


def stack_yaml(**settings: Any) -> str:
    """flowyml.yaml with a `docker` stack (no cache, so every run starts containers)."""
    lines = [
        "stacks:",
        "  docker:",
        "    backend: docker",
        "    cache: false",
        "    settings:",
        f"      base_image: {BASE_IMAGE}",
        "      stop_grace_seconds: 2",
    ]
    lines += [f"      {key}: {value}" for key, value in settings.items()]
    lines += ["    docker:", f"      requirements: {numpy_requirement()}"]
    return "\n".join(lines) + "\n"


def hanging_container(client: Any) -> Any:
    """The container of the project's run once its step printed "hanging", else None."""
    from flowyml.project.folder import open_project
    from flowyml_docker.engine import engine_errors, managed_containers

    runs = open_project().run_store.list_runs()
    if not runs:
        return None
    try:
        containers = managed_containers(client, runs[0].run_id)
        return next((c for c in containers if b"hanging" in c.logs()), None)
    except engine_errors():
        return None  # created or removed meanwhile: ask again
