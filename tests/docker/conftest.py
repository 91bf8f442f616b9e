"""Fixtures of the docker tests.

They need a reachable engine and the base image (``bash .ci/services`` brings both up).
Without them the tests are skipped — except in CI (``CI=true``), where that is a failure:
CI must really run them. After every test that used the engine, no container FlowyML
started may remain.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from docker_harness import BASE_IMAGE, numpy_requirement, pipeline, stack_yaml


def unavailable(reason: str) -> None:
    """Skip, or fail when CI=true: CI must run the docker tests."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"docker tests cannot run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    """A client of the local engine, with the base image present."""
    try:
        import docker  # noqa: F401
    except ImportError:
        unavailable("the docker SDK is not installed")
    from flowyml.errors import BackendError
    from flowyml_docker.engine import connect
    from flowyml_docker.image_builder import require_image

    try:
        client = connect(None)
        require_image(client, BASE_IMAGE)
    except BackendError as exc:
        unavailable(f"{exc} (bash .ci/services starts the engine and builds the image)")
    yield client
    client.close()


@pytest.fixture(autouse=True)
def no_container_left(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test that used the engine, no container labelled flowyml.managed=1 remains."""
    yield
    if "docker_client" not in request.fixturenames:
        return
    from flowyml_docker.engine import managed_containers

    client = request.getfixturevalue("docker_client")
    deadline = time.monotonic() + 5
    left = managed_containers(client)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = managed_containers(client)
    for container in left:
        container.remove(force=True)
    assert not left, f"containers left behind: {[c.name for c in left]}"


@pytest.fixture(scope="session")
def test_image(docker_client: Any) -> str:
    """The test project's image, built (or found) once per session."""
    from flowyml.records.resources import DockerConfig
    from flowyml_docker.image_builder import BuildOptions, ensure_image
    from flowyml_docker.project_source import locate_project

    config = DockerConfig(requirements=numpy_requirement())
    source = locate_project(pipeline("demo"), config.workdir)
    image = ensure_image(
        docker_client, "docker-demo", source, config, BuildOptions(base_image=BASE_IMAGE)
    )
    return image.tag


@pytest.fixture
def docker_project(project: Path, test_image: str) -> Path:
    """A project folder whose `docker` stack runs on the local engine."""
    from flowyml.project.folder import forget_projects

    (project / "flowyml.yaml").write_text(stack_yaml())
    forget_projects()
    return project


@pytest.fixture
def orchestrator(docker_project: Path) -> Any:
    """A DockerOrchestrator configured like the project's `docker` stack."""
    from flowyml.records.resources import DockerConfig
    from flowyml_docker import DockerOrchestrator

    return DockerOrchestrator(
        base_image=BASE_IMAGE,
        stop_grace_seconds=2,
        docker=DockerConfig(requirements=numpy_requirement()),
    )
