"""What the vertex_ai integration tests share: settings of the loopback servers, a test
project with its pipelines, and polling. (No tests here: fixtures and helpers only.)

The backend talks to the fake JobService and Cloud Logging over insecure loopback
channels and to the GCS emulator over HTTP; it builds the image on the local engine and
pushes it to the registry on 127.0.0.1:5000, from which the fake JobService pulls it.
"""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
from fakes.probe_image import BASE_IMAGE
from fakes.project import LOCATION, PROJECT

# Test modules take the fixtures with `from test_vertex_harness import *`.
__all__ = ["orchestrator", "staging_bucket", "vertex_project", "vertex_settings"]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
REGISTRY = "localhost:5000/flowyml-gcp-test"

# Test pipelines, written into each test's project folder (same text every time, so every
# test of a session reuses one image).
PIPELINES = textwrap.dedent(
    """
    import time

    from flowyml import Context, Pipeline, step


    @step(outputs=["n"])
    def start(count: int) -> int:
        return count


    @step(inputs=["n"], outputs=["doubled"])
    def explode(n: int) -> int:
        raise ValueError(f"bad input {n}: cannot double it")


    @step(inputs=["n"], outputs=["slept"])
    def sleepy(n: int) -> int:
        print("sleepy started", flush=True)
        time.sleep(120)
        return n


    @step(inputs=["n"], outputs=["said"])
    def chatty(n: int) -> int:
        for i in range(n):
            print(f"line {i:03d}", flush=True)
            if i % 10 == 0:
                time.sleep(0.2)
        return n


    failing = Pipeline("failing", steps=[start, explode], context=Context(count=3))
    sleeping = Pipeline("sleeping", steps=[start, sleepy], context=Context(count=1))
    talking = Pipeline("talking", steps=[start, chatty], context=Context(count=60))
    """
)


def numpy_requirement() -> list[str]:
    import numpy

    return [f"numpy=={numpy.__version__}"]


@pytest.fixture(scope="session")
def staging_bucket(gcs_emulator: Any) -> str:
    """A bucket of the GCS emulator for the session's artifacts and manifests."""
    name = f"staging-{uuid.uuid4().hex[:12]}"
    gcs_emulator.create_bucket(name)
    return f"gs://{name}"


@pytest.fixture(scope="session")
def vertex_settings(
    fake_vertex: Any, fake_logging: Any, gcs_emulator: Any, staging_bucket: str
) -> dict[str, Any]:
    """Settings of the vertex_ai backend pointing at the loopback servers."""
    return {
        "project_id": PROJECT,
        "region": LOCATION,
        "staging_bucket": staging_bucket,
        "service_account": f"runner@{PROJECT}.iam.gserviceaccount.com",
        "vertex_endpoint": fake_vertex.address,
        "logging_endpoint": fake_logging.address,
        "storage_endpoint": gcs_emulator.endpoint,
        "insecure": True,
        "image_registry": REGISTRY,
        "base_image": BASE_IMAGE,
        "poll_initial_seconds": 0.1,
        "poll_max_seconds": 0.5,
        "retry_initial_seconds": 0.05,
        "retry_deadline_seconds": 15.0,
        "cancel_timeout_seconds": 30.0,
    }


def stack_yaml(settings: dict[str, Any]) -> str:
    """flowyml.yaml with a `vertex` stack (no cache: every run creates jobs)."""
    lines = ["stacks:", "  vertex:", "    backend: vertex_ai", "    cache: false", "    settings:"]
    lines += [f"      {key}: {value!r}" for key, value in settings.items()]
    lines += ["    docker:", f"      requirements: {numpy_requirement()}"]
    return "\n".join(lines) + "\n"


@pytest.fixture
def vertex_project(project: Path, vertex_settings: dict[str, Any], monkeypatch: Any) -> Path:
    """A project folder with the test pipelines and a `vertex` stack on the loopback servers."""
    from flowyml.project.folder import forget_projects

    (project / "flowyml.yaml").write_text(stack_yaml(vertex_settings))
    (project / "pipelines.py").write_text(PIPELINES)
    monkeypatch.syspath_prepend(str(project))
    forget_projects()
    return project


@pytest.fixture
def orchestrator(vertex_project: Path, vertex_settings: dict[str, Any]) -> Any:
    """A VertexAIOrchestrator configured like the project's `vertex` stack."""
    from flowyml.records.resources import DockerConfig
    from flowyml_gcp import VertexAIOrchestrator

    return VertexAIOrchestrator(
        **vertex_settings, docker=DockerConfig(requirements=numpy_requirement())
    )


def test_pipeline(project: Path, name: str) -> Any:
    """A pipeline of the test project, loaded by file like `flowyml run` does."""
    from flowyml.definition.references import load_reference

    return load_reference(f"{project / 'pipelines.py'}:{name}")


test_pipeline.__test__ = False  # type: ignore[attr-defined]
