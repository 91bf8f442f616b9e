"""What the sagemaker integration tests share: a fake SageMaker whose jobs reach moto, the
backend's settings for the loopback services, a test project. (Fixtures and helpers only.)

The backend talks to the fake SageMaker and to moto (S3, CloudWatch Logs, ECR, STS,
Secrets Manager) through endpoints in its settings; it builds the image on the local
engine and pushes it to the registry on 127.0.0.1:5000, from which the fake pulls it.
Jobs run with network ``host`` and moto's endpoint in their environment, so the step
runner in them reads and writes the test bucket.
"""

from __future__ import annotations

import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes.account import ROLE_ARN
from fakes.moto_server import aws_environment
from fakes.probe_image import BASE_IMAGE

# Test modules take the fixtures with `from sagemaker_harness import *`.
__all__ = [
    "artifact_bucket",
    "orchestrator",
    "sagemaker",
    "sagemaker_project",
    "sagemaker_server",
    "sagemaker_settings",
]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
REGISTRY = "127.0.0.1:5000/flowyml-aws-test"
LEFTOVER_DEADLINE_SECONDS = 10.0

# Test pipelines, written into each test's project folder (same text every time, so every
# test of a session reuses one image).
PIPELINES = textwrap.dedent(
    """
    import os
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


    @step(inputs=["n"], outputs=["env"])
    def environment(n: int) -> dict:
        return {k: v for k, v in os.environ.items() if k.startswith("FLOWYML_TEST_")}


    @step(inputs=["n"], outputs=["said"])
    def chatty(n: int) -> int:
        for i in range(n):
            print(f"line {i:03d}", flush=True)
        return n


    failing = Pipeline("failing", steps=[start, explode], context=Context(count=3))
    sleeping = Pipeline("sleeping", steps=[start, sleepy], context=Context(count=1))
    talking = Pipeline("talking", steps=[start, chatty], context=Context(count=20))
    environ = Pipeline("environ", steps=[start, environment], context=Context(count=1))
    """
)


def numpy_requirement() -> list[str]:
    import numpy

    return [f"numpy=={numpy.__version__}"]


def wait_no_leftovers(server: Any) -> list[Any]:
    """The server's containers still there after the grace period (then removed)."""
    deadline = time.monotonic() + LEFTOVER_DEADLINE_SECONDS
    left: list[Any] = server.launcher.leftovers()
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = server.launcher.leftovers()
    for container in left:
        server.launcher.remove(container)
    return left


@pytest.fixture(scope="session")
def sagemaker_server(docker_engine: Any, moto_server: Any, probe_image: str) -> Iterator[Any]:
    """A fake SageMaker for the session whose jobs run with network ``host`` and moto's
    endpoints (as ``make_sagemaker(network_mode="host")`` makes one, but shared)."""
    from fakes.job_runner import RunnerSettings
    from fakes.sagemaker import FakeSageMaker

    url = moto_server.endpoint
    settings = RunnerSettings(
        network_mode="host",
        stop_grace_seconds=1.0,
        container_env=aws_environment({"s3": url, "logs": url}),
    )
    server = FakeSageMaker(docker_engine, lambda: moto_server.client("logs"), settings=settings)
    server.start()
    yield server
    server.stop()
    left = wait_no_leftovers(server)
    assert not left, f"fake SageMaker containers left behind: {[c.name for c in left]}"


@pytest.fixture
def sagemaker(sagemaker_server: Any) -> Iterator[Any]:
    """The session's host-mode fake SageMaker; after the test none of its containers may
    remain, and its faults, request log and finished jobs are reset."""
    yield sagemaker_server
    left = wait_no_leftovers(sagemaker_server)
    sagemaker_server.reset()
    assert not left, f"fake SageMaker containers left behind: {[c.name for c in left]}"


@pytest.fixture(scope="session")
def artifact_bucket(moto_server: Any) -> str:
    """A moto bucket for the session's artifacts and manifests."""
    name = f"artifacts-{uuid.uuid4().hex[:12]}"
    moto_server.client("s3").create_bucket(Bucket=name)
    return f"s3://{name}"


@pytest.fixture(scope="session")
def sagemaker_settings(
    sagemaker_server: Any, moto_server: Any, artifact_bucket: str
) -> dict[str, Any]:
    """Settings of the sagemaker backend pointing at the loopback services."""
    url = moto_server.endpoint
    return {
        "region": "us-east-1",
        "role_arn": ROLE_ARN,
        "s3_bucket": artifact_bucket,
        "endpoints": {
            "sagemaker": sagemaker_server.endpoint,
            "s3": url,
            "logs": url,
            "ecr": url,
            "sts": url,
            "secretsmanager": url,
        },
        # Secrets are read in the job (the fake gives it S3 and Logs only).
        "container_endpoints": {"secretsmanager": url},
        "image_registry": REGISTRY,
        "base_image": BASE_IMAGE,
        "poll_initial_seconds": 0.2,
        "poll_max_seconds": 1.0,
        "retry_max_attempts": 4,
        "stop_timeout_seconds": 30.0,
    }


def stack_yaml(settings: dict[str, Any]) -> str:
    """flowyml.yaml with a `sagemaker` stack (no cache: every run creates jobs)."""
    import yaml

    stack = {
        "backend": "sagemaker",
        "cache": False,
        "settings": settings,
        "docker": {"requirements": numpy_requirement()},
    }
    return yaml.safe_dump({"stacks": {"sagemaker": stack}}, sort_keys=False)


@pytest.fixture
def sagemaker_project(
    project: Path, sagemaker: Any, sagemaker_settings: dict[str, Any], monkeypatch: Any
) -> Path:
    """A project folder with the test pipelines and a `sagemaker` stack."""
    from flowyml.project.folder import forget_projects

    (project / "flowyml.yaml").write_text(stack_yaml(sagemaker_settings))
    (project / "pipelines.py").write_text(PIPELINES)
    monkeypatch.syspath_prepend(str(project))
    forget_projects()
    return project


@pytest.fixture
def orchestrator(sagemaker_project: Path, sagemaker_settings: dict[str, Any]) -> Any:
    """A SageMakerOrchestrator configured like the project's `sagemaker` stack."""
    from flowyml.backend import DockerConfig
    from flowyml_aws import SageMakerOrchestrator

    return SageMakerOrchestrator(
        **sagemaker_settings, docker=DockerConfig(requirements=numpy_requirement())
    )


def project_pipeline(project: Path, name: str) -> Any:
    """A pipeline of the test project, loaded by file like `flowyml run` does."""
    from flowyml.definition.references import load_reference

    return load_reference(f"{project / 'pipelines.py'}:{name}")
