"""Fixtures of the Kubernetes tests: the loopback fake apiserver, real clients, kubectl.

One fake apiserver lives for the whole session (node: 2 CPUs, 4Gi, no GPU; network
``none``); ``make_fake_k8s`` starts extra ones with other settings for one test. After
every test that used a fake, everything in it is deleted, no container of it may remain
and it must not have met an unexpected error. The fakes need a reachable Docker engine
and the base image (``bash .ci/services`` brings both up), and the kubectl tests need
``kubectl``: without them the tests are skipped — except in CI (``CI=true``), where that
is a failure.
"""

from __future__ import annotations

import os

os.environ["NO_PROXY"] = "127.0.0.1,localhost"
os.environ["no_proxy"] = "127.0.0.1,localhost"

import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from service_checks import engine_with_base_image, unavailable_in

BASE_IMAGE = "flowyml-test/python:bookworm"


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``k8s`` marker (the root configuration lists the others)."""
    config.addinivalue_line("markers", "k8s: needs the loopback fake Kubernetes apiserver")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by what they use: ``k8s`` for a fake apiserver, ``docker`` for the engine."""
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if used & {"fake_k8s", "make_fake_k8s"}:
            item.add_marker(pytest.mark.k8s)
        if "docker_engine" in used:
            item.add_marker(pytest.mark.docker)


# Skips, or fails when CI=true: CI must run the Kubernetes tests.
unavailable = unavailable_in("Kubernetes")


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[Any]:
    """A ``docker.DockerClient`` of the local engine, with the base image present."""
    client = engine_with_base_image(unavailable)
    yield client
    client.close()


@pytest.fixture(scope="session")
def kubectl() -> str:
    """Path of ``kubectl`` (``$KUBECTL`` or the one on PATH)."""
    found = os.environ.get("KUBECTL") or shutil.which("kubectl")
    if not found:
        unavailable("kubectl is not installed; apt-get install kubernetes-client")
    return str(found)


@pytest.fixture(scope="session")
def fake_k8s(docker_engine: Any) -> Iterator[Any]:
    """The session's :class:`fakes.FakeKubeApiServer`, started (default settings)."""
    pytest.importorskip("kubernetes", reason="the kubernetes client is not installed")
    from fakes import FakeKubeApiServer

    server = FakeKubeApiServer(docker_engine)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def make_fake_k8s(docker_engine: Any) -> Iterator[Callable[..., Any]]:
    """Start extra fake apiservers with ``ClusterSettings`` fields; stopped after the test."""
    from fakes import ClusterSettings, FakeKubeApiServer

    started: list[Any] = []

    def make(**settings: Any) -> Any:
        server = FakeKubeApiServer(docker_engine, ClusterSettings(**settings))
        server.start()
        started.append(server)
        return server

    yield make
    for server in started:
        errors = list(server.errors)
        server.stop()
        left = server.leftovers()
        assert not left, f"containers left by a fake apiserver: {[c.name for c in left]}"
        assert not errors, f"the fake apiserver failed while serving: {errors!r}"


@pytest.fixture
def k8s_namespace() -> str:
    """A namespace name of this test's own (every namespace exists in the fake)."""
    return f"t-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def k8s_kubeconfig(fake_k8s: Any, k8s_namespace: str, tmp_path: Path) -> Path:
    """A kubeconfig file for the session's fake, defaulting to this test's namespace."""
    path: Path = fake_k8s.write_kubeconfig(tmp_path / "kubeconfig", k8s_namespace)
    return path


@pytest.fixture(scope="session")
def k8s_api_client(fake_k8s: Any) -> Iterator[Any]:
    """A ``kubernetes.client.ApiClient`` of the session's fake."""
    api = fake_k8s.api_client()
    yield api
    api.close()


@pytest.fixture(scope="session")
def batch_api(k8s_api_client: Any) -> Any:
    """``kubernetes.client.BatchV1Api`` of the session's fake."""
    from kubernetes import client

    return client.BatchV1Api(k8s_api_client)


@pytest.fixture(scope="session")
def core_api(k8s_api_client: Any) -> Any:
    """``kubernetes.client.CoreV1Api`` of the session's fake."""
    from kubernetes import client

    return client.CoreV1Api(k8s_api_client)


@pytest.fixture(autouse=True)
def fake_k8s_hygiene(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test that used the session's fake: wiped, no container left, no error met."""
    yield
    if "fake_k8s" not in request.fixturenames:
        return
    server = request.getfixturevalue("fake_k8s")
    errors = list(server.errors)
    stuck = server.reset()
    left = server.leftovers()
    assert not errors, f"the fake apiserver failed while serving: {errors!r}"
    assert not stuck and not left, f"pods or containers left behind: {stuck} {left}"
