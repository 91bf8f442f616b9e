"""Fixtures of the GCP tests: loopback Vertex AI, Cloud Logging and GCS, and real clients.

The servers live for the whole session; after every test that used them, their faults
and call counts are reset and no container of the fake Vertex AI may remain. They need a
reachable Docker engine and the base image (``bash .ci/services`` brings both up): without
them the tests are skipped — except in CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import os

# Before any google import: never probe a metadata server or go through a proxy.
os.environ["NO_GCE_CHECK"] = "true"
os.environ["NO_PROXY"] = "127.0.0.1,localhost"
os.environ["no_proxy"] = "127.0.0.1,localhost"

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fakes.project import ARTIFACT_REGISTRY, LOCAL_REGISTRY, PROJECT
from service_checks import engine_with_base_image, unavailable_in

LEFTOVER_DEADLINE_SECONDS = 10.0
# SIGTERM to SIGKILL on cancel. A Python PID 1 without a SIGTERM handler ignores SIGTERM,
# so this is what cancelling such a job costs; short, to keep the suite fast.
CANCEL_GRACE_SECONDS = 2.0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by what they use: ``gcp`` for the test servers, ``docker`` for the engine."""
    servers = {"fake_vertex", "fake_logging", "gcs_emulator"}
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if used & servers:
            item.add_marker(pytest.mark.gcp)
        if "docker_engine" in used:
            item.add_marker(pytest.mark.docker)


# Skips, or fails when CI=true: CI must run the GCP tests.
unavailable = unavailable_in("GCP")


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[Any]:
    """A ``docker.DockerClient`` of the local engine, with the base image present."""
    client = engine_with_base_image(unavailable)
    yield client
    client.close()


@pytest.fixture(scope="session")
def probe_image(docker_engine: Any) -> str:
    """``localhost:5000/fake-vertex-test:1``, built from the base image and pushed."""
    import docker
    from fakes.probe_image import build_probe_image

    try:
        return build_probe_image(docker_engine)
    except docker.errors.APIError as error:
        unavailable(f"cannot build or push the probe image ({error}); is the registry up?")
        raise


@pytest.fixture(scope="session")
def log_store() -> Any:
    """The log entries the fake Vertex AI writes and the fake Cloud Logging serves."""
    from fakes.log_store import LogStore

    return LogStore()


@pytest.fixture(scope="session")
def fake_vertex(docker_engine: Any, log_store: Any) -> Iterator[Any]:
    """The fake Vertex AI JobService (a :class:`fakes.FakeVertex`), started."""
    from fakes.job_runner import RunnerSettings
    from fakes.vertex import FakeVertex

    server = FakeVertex(
        docker_engine,
        log_store=log_store,
        image_map={ARTIFACT_REGISTRY: LOCAL_REGISTRY},
        settings=RunnerSettings(cancel_grace_seconds=CANCEL_GRACE_SECONDS),
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def make_vertex(docker_engine: Any) -> Iterator[Callable[..., tuple[Any, Any]]]:
    """Start extra fake Vertex AI servers with given runner settings; each with a client."""
    import grpc
    from fakes.job_runner import RunnerSettings
    from fakes.vertex import FakeVertex
    from google.cloud.aiplatform_v1.services.job_service import JobServiceClient
    from google.cloud.aiplatform_v1.services.job_service.transports.grpc import (
        JobServiceGrpcTransport,
    )

    started: list[tuple[Any, Any]] = []

    def make(**settings: Any) -> tuple[Any, Any]:
        server = FakeVertex(docker_engine, settings=RunnerSettings(**settings))
        channel = grpc.insecure_channel(server.start())
        started.append((server, channel))
        return server, JobServiceClient(transport=JobServiceGrpcTransport(channel=channel))

    yield make
    for server, channel in started:
        channel.close()
        server.stop()


@pytest.fixture(scope="session")
def fake_logging(log_store: Any) -> Iterator[Any]:
    """The fake Cloud Logging, serving the fake Vertex AI's job logs (no Docker needed)."""
    from fakes.logging import FakeLogging

    server = FakeLogging(log_store)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def gcs_emulator() -> Iterator[Any]:
    """The in-process GCS emulator (a :class:`fakes.GcsEmulator`), started."""
    from fakes.gcs import GcsEmulator

    emulator = GcsEmulator(PROJECT)
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="session")
def job_client(fake_vertex: Any) -> Iterator[Any]:
    """A real ``aiplatform_v1.JobServiceClient`` on an insecure channel to the fake."""
    import grpc
    from google.cloud.aiplatform_v1.services.job_service import JobServiceClient
    from google.cloud.aiplatform_v1.services.job_service.transports.grpc import (
        JobServiceGrpcTransport,
    )

    channel = grpc.insecure_channel(fake_vertex.address)
    yield JobServiceClient(transport=JobServiceGrpcTransport(channel=channel))
    channel.close()


@pytest.fixture(scope="session")
def logging_client(fake_logging: Any) -> Iterator[Any]:
    """A real ``LoggingServiceV2Client`` on an insecure channel to the fake."""
    import grpc
    from google.cloud.logging_v2.services.logging_service_v2 import LoggingServiceV2Client
    from google.cloud.logging_v2.services.logging_service_v2.transports.grpc import (
        LoggingServiceV2GrpcTransport,
    )

    channel = grpc.insecure_channel(fake_logging.address)
    yield LoggingServiceV2Client(transport=LoggingServiceV2GrpcTransport(channel=channel))
    channel.close()


@pytest.fixture(scope="session")
def storage_client(gcs_emulator: Any) -> Any:
    """A real ``google.cloud.storage.Client`` of the emulator (anonymous credentials)."""
    return gcs_emulator.client()


@pytest.fixture
def gcs_bucket(storage_client: Any) -> str:
    """The name of a fresh, empty bucket for this test."""
    name = f"test-{uuid.uuid4().hex[:16]}"
    storage_client.create_bucket(name)
    return name


@pytest.fixture(autouse=True)
def fake_gcp_hygiene(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test that used the fakes: no fake Vertex container left; faults reset."""
    yield
    used = set(request.fixturenames)
    if "fake_logging" in used:
        request.getfixturevalue("fake_logging").reset()
    if "fake_vertex" not in used:
        return
    server = request.getfixturevalue("fake_vertex")
    deadline = time.monotonic() + LEFTOVER_DEADLINE_SECONDS
    left = server.launcher.leftovers()
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = server.launcher.leftovers()
    for container in left:
        server.launcher.remove(container)
    server.reset()
    assert not left, f"fake Vertex containers left behind: {[c.name for c in left]}"
