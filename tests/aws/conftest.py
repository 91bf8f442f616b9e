"""Fixtures of the AWS tests: moto (S3, CloudWatch Logs, ECR), a fake SageMaker, clients.

The servers live for the whole session. After every test that used the fake SageMaker,
none of its containers may remain and its faults, request log and finished jobs are
reset. Jobs need a reachable Docker engine, the base image and the 127.0.0.1:5000
registry (``bash .ci/services`` brings them up): without them those tests are skipped —
except in CI (``CI=true``), where that is a failure. moto needs no Docker.
"""

from __future__ import annotations

import os

from fakes.moto_server import aws_environment

# Before any boto3 client exists: dummy keys, our region, no ~/.aws files, no metadata
# server, so nothing in these tests can pick up real credentials or reach AWS.
os.environ.update(aws_environment())
os.environ["NO_PROXY"] = "127.0.0.1,localhost"
os.environ["no_proxy"] = "127.0.0.1,localhost"

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from service_checks import engine_with_base_image, unavailable_in

LEFTOVER_DEADLINE_SECONDS = 10.0
# SIGTERM to SIGKILL on stop and timeout (SageMaker allows 120 s). A Python PID 1 without
# a SIGTERM handler ignores SIGTERM, so this is what stopping such a job costs.
STOP_GRACE_SECONDS = 1.0


def pytest_configure(config: pytest.Config) -> None:
    """Declare the ``aws`` marker (the root configuration runs with --strict-markers)."""
    config.addinivalue_line("markers", "aws: needs the loopback moto / fake SageMaker servers")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by what they use: ``aws`` for the servers, ``docker`` for the engine."""
    servers = {"moto_server", "fake_sagemaker", "make_sagemaker"}
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if used & servers:
            item.add_marker(pytest.mark.aws)
        if "docker_engine" in used:
            item.add_marker(pytest.mark.docker)


# Skips, or fails when CI=true: CI must run the AWS tests.
unavailable = unavailable_in("AWS")


@pytest.fixture(scope="session")
def moto_server() -> Iterator[Any]:
    """moto in server mode on 127.0.0.1 (a :class:`fakes.MotoServer`), started."""
    try:
        from fakes.moto_server import MotoServer
        from moto.server import ThreadedMotoServer  # noqa: F401  (checks moto[server])
    except ImportError as error:
        unavailable(f"moto[server] is not installed ({error})")
        raise
    server = MotoServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def aws_endpoints(moto_server: Any, fake_sagemaker: Any) -> dict[str, str]:
    """botocore service name → endpoint URL of every loopback service."""
    url = moto_server.endpoint
    return {"s3": url, "logs": url, "ecr": url, "sagemaker": fake_sagemaker.endpoint}


@pytest.fixture
def aws_env(moto_server: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """``AWS_ENDPOINT_URL_<SERVICE>`` for S3, Logs and ECR set for this test (moto only).

    A plain ``boto3.client("s3")`` then reaches moto, as production code that reads the
    endpoint from botocore's own configuration would.
    """
    url = moto_server.endpoint
    env = aws_environment({"s3": url, "logs": url, "ecr": url})
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[Any]:
    """A ``docker.DockerClient`` of the local engine, with the base image present."""
    client = engine_with_base_image(unavailable)
    yield client
    client.close()


@pytest.fixture(scope="session")
def probe_image(docker_engine: Any) -> str:
    """``127.0.0.1:5000/flowyml-aws-fake-probe:1``: the base image, pushed."""
    import docker
    from fakes.probe_image import push_probe_image

    try:
        return push_probe_image(docker_engine)
    except (docker.errors.APIError, RuntimeError) as error:
        unavailable(f"cannot push the probe image ({error}); is the registry up?")
        raise


def _start_sagemaker(docker_engine: Any, moto_server: Any, **settings: Any) -> Any:
    from fakes.job_runner import RunnerSettings
    from fakes.sagemaker import FakeSageMaker

    settings.setdefault("stop_grace_seconds", STOP_GRACE_SECONDS)
    if settings.get("network_mode") == "host":
        url = moto_server.endpoint
        settings.setdefault("container_env", aws_environment({"s3": url, "logs": url}))
    server = FakeSageMaker(
        docker_engine, lambda: moto_server.client("logs"), settings=RunnerSettings(**settings)
    )
    server.start()
    return server


def _stop_sagemaker(server: Any) -> None:
    """Stop the server; fail if any container of it outlives the grace period."""
    server.stop()
    left = _wait_for_no_leftovers(server)
    for container in left:
        server.launcher.remove(container)
    assert not left, f"fake SageMaker containers left behind: {[c.name for c in left]}"


def _wait_for_no_leftovers(server: Any) -> list[Any]:
    deadline = time.monotonic() + LEFTOVER_DEADLINE_SECONDS
    left: list[Any] = server.launcher.leftovers()
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = server.launcher.leftovers()
    return left


@pytest.fixture(scope="session")
def fake_sagemaker(docker_engine: Any, moto_server: Any) -> Iterator[Any]:
    """The fake SageMaker (a :class:`fakes.FakeSageMaker`), network ``none``, started."""
    server = _start_sagemaker(docker_engine, moto_server)
    yield server
    _stop_sagemaker(server)


@pytest.fixture
def make_sagemaker(docker_engine: Any, moto_server: Any) -> Iterator[Callable[..., Any]]:
    """Start extra fake SageMakers with given ``RunnerSettings`` fields; stopped after.

    ``network_mode="host"`` also gives its jobs moto's endpoint and the dummy keys
    (``AWS_ENDPOINT_URL_S3``, ``AWS_ACCESS_KEY_ID``, ...) unless ``container_env`` is given.
    """
    started: list[Any] = []

    def make(**settings: Any) -> Any:
        started.append(_start_sagemaker(docker_engine, moto_server, **settings))
        return started[-1]

    yield make
    for server in started:
        _stop_sagemaker(server)


@pytest.fixture(scope="session")
def sagemaker_client(fake_sagemaker: Any) -> Any:
    """A real boto3 ``sagemaker`` client of the fake (botocore's default retry config)."""
    return fake_sagemaker.client()


@pytest.fixture(scope="session")
def s3_client(moto_server: Any) -> Any:
    """A real boto3 ``s3`` client of moto."""
    return moto_server.client("s3")


@pytest.fixture(scope="session")
def logs_client(moto_server: Any) -> Any:
    """A real boto3 ``logs`` client of moto (where job output goes)."""
    return moto_server.client("logs")


@pytest.fixture(scope="session")
def ecr_client(moto_server: Any) -> Any:
    """A real boto3 ``ecr`` client of moto."""
    return moto_server.client("ecr")


@pytest.fixture(scope="session")
def moto_sagemaker_client(moto_server: Any) -> Any:
    """A real boto3 ``sagemaker`` client of *moto's* SageMaker (for replays)."""
    return moto_server.client("sagemaker")


@pytest.fixture
def s3_bucket(s3_client: Any) -> str:
    """The name of a fresh, empty moto bucket for this test."""
    name = f"test-{uuid.uuid4().hex[:16]}"
    s3_client.create_bucket(Bucket=name)
    return name


@pytest.fixture(autouse=True)
def fake_aws_hygiene(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test that used the fake SageMaker: none of its containers left; reset."""
    yield
    if "fake_sagemaker" not in request.fixturenames:
        return
    server = request.getfixturevalue("fake_sagemaker")
    left = _wait_for_no_leftovers(server)
    for container in left:
        server.launcher.remove(container)
    server.reset()
    assert not left, f"fake SageMaker containers left behind: {[c.name for c in left]}"
